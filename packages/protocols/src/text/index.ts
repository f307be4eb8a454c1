export { TextHandler as Handler, TextHandler, type LineCallback, type LineReply } from './TextHandler';
export { TextParser as Parser, TextParser } from './TextParser';
