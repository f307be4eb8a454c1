// Tests are quiet unless asked: BEYOD_LOG_LEVEL=debug npm test shows the framework's logs.
process.env.BEYOD_LOG_LEVEL ??= 'silent';
