// One tus upload with tus-js-client in Node, driven by tests/e2e/tus/test_interop_js.py.
//
//   node upload.mjs '<options as JSON>'
//
// Options: file, endpoint, headers, chunkSize, metadata, uploadDataDuringCreation,
// retryDelays, and for interruptions:
//   uploadUrl   resume this upload (HEAD, then PATCH from the server's offset)
//   urlStorage  a JSON file for FileUrlStorage; with resume=true the upload is found again
//               with findPreviousUploads() and continued with resumeFromPreviousUpload()
//   abortAt     abort() once the server has accepted at least this many bytes
//   stallAt     stop feeding the PATCH body at this absolute offset and hang (mid-PATCH),
//               waiting for the test to SIGKILL the process
//
// Prints one JSON object a line on stdout: {"event": "url"|"patch"|"aborted"|"stalled"|
// "success"|"error", ...}.
import * as fs from 'node:fs'
import { Transform } from 'node:stream'

import { DefaultHttpStack, FileUrlStorage, Upload } from 'tus-js-client'

const opts = JSON.parse(process.argv[2])

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

// Passes a PATCH body through until the absolute offset `stallAt`, then stops: the request
// stays open with part of its body sent, as when a client freezes or loses its network.
class StallingHttpStack {
  constructor(stallAt) {
    this._inner = new DefaultHttpStack()
    this._stallAt = stallAt
  }

  createRequest(method, url) {
    const req = this._inner.createRequest(method, url)
    if (method !== 'PATCH') return req
    const send = req.send.bind(req)
    req.send = (body) => {
      const start = Number.parseInt(req.getHeader('Upload-Offset'), 10)
      if (body == null || start + body.size <= this._stallAt) return send(body)
      let position = start
      let stalled = false
      const stallAt = this._stallAt
      const gate = new Transform({
        transform(chunk, _encoding, callback) {
          if (stalled) return // never call back: the body stops here
          const room = stallAt - position
          if (chunk.length < room) {
            position += chunk.length
            callback(null, chunk)
            return
          }
          stalled = true
          position = stallAt
          if (room > 0) this.push(chunk.subarray(0, room))
          // Give the socket a moment to carry what was pushed, then report.
          setTimeout(() => emit('stalled', { url, sent: stallAt }), 300)
        },
      })
      const gated = body.pipe(gate)
      gated.size = body.size
      return send(gated)
    }
    return req
  }

  getName() {
    return 'StallingHttpStack'
  }
}

const options = {
  endpoint: opts.endpoint,
  headers: opts.headers || {},
  chunkSize: opts.chunkSize,
  metadata: opts.metadata || {},
  uploadDataDuringCreation: Boolean(opts.uploadDataDuringCreation),
  retryDelays: opts.retryDelays ?? null,
  removeFingerprintOnSuccess: true,
}
if (opts.uploadUrl) options.uploadUrl = opts.uploadUrl
if (opts.urlStorage) options.urlStorage = new FileUrlStorage(opts.urlStorage)
if (opts.stallAt != null) options.httpStack = new StallingHttpStack(opts.stallAt)

const upload = new Upload(fs.createReadStream(opts.file), {
  ...options,
  onUploadUrlAvailable() {
    emit('url', { url: upload.url })
  },
  onBeforeRequest(req) {
    const method = req.getMethod()
    if (method === 'PATCH' || (method === 'POST' && opts.uploadDataDuringCreation)) {
      emit('patch', { method, offset: Number(req.getHeader('Upload-Offset') ?? 0) })
    }
  },
  onChunkComplete(_chunkSize, bytesAccepted, bytesTotal) {
    if (opts.abortAt != null && bytesAccepted >= opts.abortAt && bytesAccepted < bytesTotal) {
      upload.abort().then(() => {
        emit('aborted', { url: upload.url, accepted: bytesAccepted })
        process.exit(0)
      })
    }
  },
  onSuccess() {
    emit('success', { url: upload.url })
  },
  onError(error) {
    const res = error.originalResponse
    emit('error', {
      message: String(error.message || error),
      status: res ? res.getStatus() : null,
    })
    process.exitCode = 1
  },
})

if (opts.resume) {
  const previous = await upload.findPreviousUploads()
  emit('previous', { count: previous.length, urls: previous.map((p) => p.uploadUrl) })
  if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0])
}
upload.start()
