export { CreateError, type CreateErrorCode, CreateErrorCodes } from './errors';
export { main, nextSteps } from './main';
export { BEYOD_VERSION, type ScaffoldOptions, type ScaffoldResult, packageNameFrom, scaffold } from './scaffold';
export { BEYOD_PACKAGES, TARBALLS_DIR, findTarballs, tarballName } from './tarballs';
export { DEFAULT_TEMPLATE, TEMPLATES_DIR, type TemplateInfo, listTemplates, templateInfo } from './templates';
