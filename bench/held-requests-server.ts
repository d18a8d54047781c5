// The reference for the waiters of bench/reads.ts: node:http alone, in a process of its own as the
// API is, holding every request it gets until its parent says "answer", then answering them all
// at once with the same bytes and headers the API sends a waiter. Forked by reads.ts over IPC:
// it sends its port once listening, and takes the answer's body, content type and ETag first.
import http from 'node:http'

interface Answer {
  body: string
  contentType: string
  etag: string
}

let answer: Answer | null = null
const held: http.ServerResponse[] = []
const server = http.createServer((_request, response) => {
  held.push(response)
})

process.on('message', (message: { answer: Answer } | 'answer' | 'held') => {
  if (message === 'held') process.send!({ held: held.length })
  else if (message === 'answer') {
    const { body, contentType, etag } = answer!
    for (const response of held.splice(0)) response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), etag }).end(body)
  } else {
    answer = message.answer
    server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }))
  }
})
process.on('disconnect', () => process.exit(0))
