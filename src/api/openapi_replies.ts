/**
 * Every operation in the OpenAPI document states its replies: where a route's
 * schema lists no success reply, 200; where it lists no error, the error body
 * of 400, 401, 403, 404 and 409, which any route can answer. Only the document
 * changes; the replies are written as the routes return them.
 */
import type { SwaggerTransform } from '@fastify/swagger';
import { errorResponses } from './schemas.js';

export const documentReplies: SwaggerTransform = ({ schema, url }) => {
  const response: Record<string, unknown> = { ...((schema?.response as Record<string, unknown> | undefined) ?? {}) };
  const statuses = Object.keys(response);
  if (!statuses.some((status) => status.startsWith('2'))) response[200] = { description: 'OK' };
  if (!statuses.some((status) => status.startsWith('4'))) Object.assign(response, errorResponses);
  return { schema: { ...schema, response }, url };
};
