export { FrameParser as Parser, FrameParser, HEADER_SIZE, encodeFrame, frameHeader } from './FrameParser';
