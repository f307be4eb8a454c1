export { TextParser as Parser, TextParser } from './TextParser';
