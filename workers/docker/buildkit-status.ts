import protobuf from 'protobufjs'

// BuildKit's progress arrives in the Engine API's build stream as `moby.buildkit.trace` messages:
// base64 protobuf of moby.buildkit.v1.StatusResponse (buildkit api/services/control/control.proto).
// Only the fields Slipway reads are declared; protobuf skips the rest.
const PROTO = `
syntax = "proto3";
package moby.buildkit.v1;
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message Vertex {
  string digest = 1;
  string name = 3;
  bool cached = 4;
  Timestamp started = 5;
  Timestamp completed = 6;
  string error = 7;
}
message VertexLog { string vertex = 1; Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }
message VertexWarning { string vertex = 1; int64 level = 2; bytes short = 3; }
message StatusResponse {
  repeated Vertex vertexes = 1;
  repeated VertexLog logs = 3;
  repeated VertexWarning warnings = 4;
}
`

export interface BuildkitVertex {
  digest: string
  name: string
  cached: boolean
  /** Milliseconds since the epoch. */
  started?: number
  completed?: number
  error?: string
}

export interface BuildkitStatus {
  vertexes: BuildkitVertex[]
  logs: { vertex: string; stream: number; msg: Buffer }[]
  warnings: { vertex: string; short: Buffer }[]
}

const StatusResponse = protobuf.parse(PROTO).root.lookupType('moby.buildkit.v1.StatusResponse')

interface RawTimestamp {
  seconds?: number
  nanos?: number
}

export function decodeBuildkitStatus (base64: string): BuildkitStatus {
  const decoded = StatusResponse.toObject(StatusResponse.decode(Buffer.from(base64, 'base64')), { longs: Number }) as {
    vertexes?: (Omit<BuildkitVertex, 'started' | 'completed'> & { started?: RawTimestamp; completed?: RawTimestamp })[]
    logs?: { vertex: string; stream?: number; msg: Uint8Array }[]
    warnings?: { vertex: string; short: Uint8Array }[]
  }
  return {
    vertexes: (decoded.vertexes ?? []).map((vertex) => ({
      digest: vertex.digest,
      name: vertex.name ?? '',
      cached: vertex.cached ?? false,
      ...(vertex.started ? { started: millis(vertex.started) } : {}),
      ...(vertex.completed ? { completed: millis(vertex.completed) } : {}),
      ...(vertex.error ? { error: vertex.error } : {})
    })),
    logs: (decoded.logs ?? []).map((log) => ({ vertex: log.vertex, stream: log.stream ?? 1, msg: Buffer.from(log.msg) })),
    warnings: (decoded.warnings ?? []).map((warning) => ({ vertex: warning.vertex, short: Buffer.from(warning.short) }))
  }
}

function millis (timestamp: RawTimestamp): number {
  return (timestamp.seconds ?? 0) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6)
}
