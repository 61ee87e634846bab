// The baseline: bare Fastify answering what the collector answers (the 43-byte GIF, and 204
// after parsing a text/plain JSON beacon), with no storage. Prints its URL on stdout.
import Fastify from 'fastify';

const GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
const app = Fastify({ logger: false });
app.addContentTypeParser('text/plain', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
app.get('/p.gif', (_request, reply) => reply.header('content-type', 'image/gif').header('cache-control', 'no-store, max-age=0').send(GIF));
app.post('/collect', (_request, reply) => reply.code(204).send());
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`bare fastify listening on ${address}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
