/* Redis Cluster hash slots: CRC16 (XMODEM) and hash tags, as the cluster specification gives them. */
import { redis } from '@beyod/protocols';

describe('redis hash slots', () => {
  it('computes CRC16 XMODEM (the specification check value)', () => {
    expect(redis.crc16(Buffer.from('123456789'))).toBe(0x31c3);
  });

  it('maps keys to the slots Redis gives them', () => {
    // values from CLUSTER KEYSLOT on redis-server 7.0
    expect(redis.hashSlot('foo')).toBe(12182);
    expect(redis.hashSlot('')).toBe(0);
    expect(redis.hashSlot(Buffer.from('foo'))).toBe(12182);
  });

  it('hashes only the first non-empty {tag}', () => {
    const slot = redis.hashSlot('user1000');
    expect(redis.hashSlot('{user1000}.following')).toBe(slot);
    expect(redis.hashSlot('{user1000}.followers')).toBe(slot);
    expect(redis.hashSlot('foo{bar}{zap}')).toBe(redis.hashSlot('bar'));
    expect(redis.hashSlot('foo{{bar}}zap')).toBe(redis.hashSlot('{bar'));
    // an empty tag, or no closing brace: the whole key is hashed
    expect(redis.hashSlot('foo{}{bar}')).toBe(redis.crc16(Buffer.from('foo{}{bar}')) & 16383);
    expect(redis.hashSlot('foo{bar')).toBe(redis.crc16(Buffer.from('foo{bar')) & 16383);
  });

  it('hashes UTF-8 bytes, not UTF-16 units', () => {
    expect(redis.hashSlot('é')).toBe(redis.crc16(Buffer.from([0xc3, 0xa9])) & 16383);
  });

  it('reads CLUSTER SLOTS, with an empty host meaning the node asked and "?" unknown', () => {
    const map = redis.parseClusterSlots(
      [
        [0, 5460, ['', 7000, 'id1'], ['127.0.0.1', 7003, 'id4']],
        [5461, 16383, ['10.0.0.2', 7001, 'id2'], ['?', 7004, 'id5']],
      ],
      '10.0.0.1',
    );
    expect(map.covered).toBe(16384);
    expect(map.masters[0]).toBe('10.0.0.1:7000');
    expect(map.masters[16383]).toBe('10.0.0.2:7001');
    expect([...map.nodes.keys()].sort()).toEqual(['10.0.0.1:7000', '10.0.0.2:7001', '127.0.0.1:7003']);
    expect(redis.parseClusterSlots('garbage', 'h').covered).toBe(0);
    expect(redis.parseClusterSlots([[9, 2, ['h', 1]], [0, 99999, ['h', 1]], 'x'], 'h').covered).toBe(0);
  });
});
