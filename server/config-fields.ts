/** Building blocks of the environment schema, shared with the partner modules' env sections. */
export { cidrList, int, list, optionalText, optionalUrl } from '../datasources/env-fields.js';
export { parseCidr } from '../domain/cidr.js';
