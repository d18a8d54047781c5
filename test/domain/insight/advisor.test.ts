import { readFile } from 'node:fs/promises'
import t from 'tap'
import { ADVISOR_RULES, adviseDockerfile, type AdviseInput } from '../../../src/domain/insight/advisor.js'
import { parseDockerfile } from '../../../src/domain/insight/dockerfile-stages.js'
import { RULE_IDS, type RuleId } from '../../../src/domain/schemas/insight.js'

// Each case: a Dockerfile (lines numbered from 1 as written), and every finding expected as
// [rule, lines, stage]. Nothing else may be reported.

type Expected = [RuleId, number[], string | null]

interface Case {
  name: string
  dockerfile: string[]
  target?: string | null
  buildArgs?: Record<string, string>
  context?: AdviseInput['context']
  expect: Expected[]
  /** Substrings each finding of that rule's message must hold. */
  messages?: Partial<Record<RuleId, (string | RegExp)[]>>
}

// The three styles of the seed article ("Building Docker Container Image"): its first Dockerfile
// (1.13GB), a single-stage alpine one (336MB), and the multi-stage one it settles on (176MB).
const ARTICLE_MULTI_STAGE = `FROM python:3.8-alpine as builder

RUN apk add --no-cache postgresql-dev gcc python3-dev musl-dev libffi-dev

WORKDIR /app/
COPY requirements.txt ./
COPY requirements-prod.txt ./
RUN pip wheel --no-cache-dir \\
              --wheel-dir /app/wheels \\
              -r requirements-prod.txt


FROM python:3.8-alpine

RUN apk add --no-cache libpq postgresql-client

WORKDIR /app
COPY --from=builder /app/wheels/ /wheels
RUN pip install --upgrade pip
RUN pip install --no-cache /wheels/*

COPY . /app/

EXPOSE 8000

ENV DATABASE_URL 'sqlite:///db.sqlite3'
ENV DJANGO_SETTINGS_MODULE 'dblood.settings.production'
ENV DEBUG 'False'

CMD ["gunicorn", "dblood.wsgi", "--bind", "0.0.0.0:8000"]
`.split('\n')

const cases: Case[] = [
  // ------------------------------------------------------------------ the article's three styles
  {
    name: 'article, bloated single-stage: full image, build tools, caches, update alone, source first',
    dockerfile: [
      'FROM python:3.8',
      'RUN apt-get update',
      'RUN apt-get install -y postgresql-client libpq-dev gcc build-essential',
      'WORKDIR /app/',
      'COPY . /app/',
      'RUN pip install -r requirements.txt -r requirements-prod.txt',
      'EXPOSE 8000',
      'CMD ["gunicorn", "dblood.wsgi", "--bind", "0.0.0.0:8000"]'
    ],
    context: { hasDockerignore: false, rootNames: ['.git', 'manage.py', 'requirements.txt', '__pycache__'] },
    expect: [
      ['full-base-image', [1], 'stage-0'],
      ['apt-update-alone', [2], 'stage-0'],
      ['build-tools-in-final-stage', [3], 'stage-0'],
      ['package-cache-kept', [3], 'stage-0'],
      ['apt-no-install-recommends', [3], 'stage-0'],
      ['no-dockerignore', [5], null],
      ['source-before-dependencies', [5, 6], 'stage-0'],
      ['package-cache-kept', [6], 'stage-0']
    ],
    messages: {
      'full-base-image': ['python:3.8-slim', 'python:3.8-alpine'],
      'build-tools-in-final-stage': ['libpq-dev, gcc, build-essential', 'builder stage', 'COPY --from=builder'],
      'package-cache-kept': [/rm -rf \/var\/lib\/apt\/lists\/\*|--no-cache-dir/],
      'apt-no-install-recommends': ['--no-install-recommends'],
      'source-before-dependencies': ['requirements.txt and requirements-prod.txt', 'COPY . /app/'],
      'no-dockerignore': ['.git, __pycache__']
    }
  },
  {
    name: 'article, single-stage on alpine: only the build tools remain',
    dockerfile: [
      'FROM python:3.8-alpine',
      'RUN apk add --no-cache postgresql-dev gcc python3-dev musl-dev libffi-dev libpq postgresql-client',
      'WORKDIR /app/',
      'COPY requirements.txt requirements-prod.txt ./',
      'RUN pip install --no-cache-dir -r requirements-prod.txt',
      'COPY . /app/',
      'CMD ["gunicorn", "dblood.wsgi", "--bind", "0.0.0.0:8000"]'
    ],
    context: { hasDockerignore: true, rootNames: ['.git', '.dockerignore'] },
    expect: [['build-tools-in-final-stage', [2], 'stage-0']],
    messages: { 'build-tools-in-final-stage': ['postgresql-dev, gcc, python3-dev, musl-dev, libffi-dev', 'without -dev/-devel'] }
  },
  {
    name: 'article, multi-stage as published: nothing to say about its final stage (or any)',
    dockerfile: ARTICLE_MULTI_STAGE,
    context: { hasDockerignore: true, rootNames: ['.git'] },
    expect: []
  },

  // ------------------------------------------------------------------ build-tools-in-final-stage
  {
    name: 'build tools: make and gcc in a clean Debian RUN',
    dockerfile: [
      'FROM debian:bookworm-slim',
      'RUN apt-get update && apt-get install -y --no-install-recommends gcc make ca-certificates && rm -rf /var/lib/apt/lists/*'
    ],
    expect: [['build-tools-in-final-stage', [2], 'stage-0']],
    messages: { 'build-tools-in-final-stage': ['gcc, make', 'FROM debian:bookworm-slim AS builder'] }
  },
  {
    name: 'build tools: only in the builder stage, final copies the result',
    dockerfile: [
      'FROM debian:bookworm-slim AS builder',
      'RUN apt-get update && apt-get install -y gcc make',
      'RUN make',
      'FROM busybox',
      'COPY --from=builder /src/app /app'
    ],
    expect: []
  },
  {
    name: 'build tools: apk --virtual removed again in the same RUN',
    dockerfile: [
      'FROM python:3.12-alpine',
      'COPY requirements.txt .',
      'RUN apk add --no-cache --virtual .build-deps gcc musl-dev libffi-dev \\',
      '  && pip install --no-cache-dir -r requirements.txt \\',
      '  && apk del .build-deps'
    ],
    expect: []
  },
  {
    name: 'build tools: apt-get purge in the same RUN removes them; a later RUN does not',
    dockerfile: [
      'FROM debian:bookworm-slim',
      'RUN apt-get update && apt-get install -y --no-install-recommends gcc git && make && apt-get purge -y gcc && rm -rf /var/lib/apt/lists/*',
      'RUN apt-get purge -y git'
    ],
    expect: [['build-tools-in-final-stage', [2], 'stage-0']],
    messages: { 'build-tools-in-final-stage': [/tools: git\./] }
  },
  {
    name: 'build tools: inherited through a FROM <stage> chain',
    dockerfile: [
      'FROM debian:bookworm-slim AS base',
      'RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*',
      'FROM base AS app',
      'COPY app /app',
      'FROM busybox AS other',
      'RUN true',
      'FROM app',
      'CMD ["/app"]'
    ],
    expect: [['build-tools-in-final-stage', [2], 'base']]
  },
  {
    name: 'build tools: -devel with dnf, cache cleaned',
    dockerfile: ['FROM fedora:40', 'RUN dnf install -y openssl-devel gcc-c++ && dnf clean all'],
    expect: [['build-tools-in-final-stage', [2], 'stage-0']],
    messages: { 'build-tools-in-final-stage': ['openssl-devel, gcc-c++'] }
  },
  {
    name: 'build tools: versioned names and package pins',
    dockerfile: [
      'FROM ubuntu:24.04',
      'RUN apt-get update && apt-get install -y --no-install-recommends gcc-12 python3-dev=3.12.3-0ubuntu1 libc6-dev:amd64 curl && rm -rf /var/lib/apt/lists/*'
    ],
    expect: [['build-tools-in-final-stage', [2], 'stage-0']],
    messages: { 'build-tools-in-final-stage': ['gcc-12, python3-dev=3.12.3-0ubuntu1, libc6-dev:amd64'] }
  },
  {
    name: 'build tools: packages named by an ARG',
    dockerfile: [
      'FROM debian:bookworm-slim',
      'ARG BUILD_DEPS="cmake pkg-config"',
      'RUN apt-get update && apt-get install -y --no-install-recommends $BUILD_DEPS && rm -rf /var/lib/apt/lists/*'
    ],
    expect: [['build-tools-in-final-stage', [3], 'stage-0']],
    messages: { 'build-tools-in-final-stage': ['cmake, pkg-config'] }
  },

  // ------------------------------------------------------------------ package-cache-kept
  {
    name: 'cache: apt-get clean does not remove the lists',
    dockerfile: ['FROM debian:bookworm-slim', 'RUN apt-get update && apt-get install -y --no-install-recommends curl && apt-get clean'],
    expect: [['package-cache-kept', [2], 'stage-0']],
    messages: { 'package-cache-kept': ['apt-get clean empties /var/cache/apt/archives, not the lists', 'rm -rf /var/lib/apt/lists/*'] }
  },
  {
    name: 'cache: apk add without --no-cache',
    dockerfile: ['FROM alpine:3.20', 'RUN apk update && apk add curl'],
    expect: [['package-cache-kept', [2], 'stage-0']],
    messages: { 'package-cache-kept': ['apk add --no-cache'] }
  },
  {
    name: 'cache: apk cleaned by rm, or never kept',
    dockerfile: ['FROM alpine:3.20', 'RUN apk add curl && rm -rf /var/cache/apk/*', 'RUN apk add --no-cache jq'],
    expect: []
  },
  {
    name: 'cache: pip install without --no-cache-dir; python -m pip with it',
    dockerfile: ['FROM python:3.12-slim', 'RUN pip install flask', 'RUN python3 -m pip install --no-cache-dir gunicorn'],
    expect: [['package-cache-kept', [2], 'stage-0']],
    messages: { 'package-cache-kept': ['pip install --no-cache-dir', 'PIP_NO_CACHE_DIR'] }
  },
  {
    name: 'cache: PIP_NO_CACHE_DIR by ENV, a cache mount, pip cache purge',
    dockerfile: [
      'FROM python:3.12-slim AS base',
      'ENV PIP_NO_CACHE_DIR=1',
      'FROM base',
      'RUN pip install flask',
      'RUN --mount=type=cache,target=/root/.cache/pip pip install gunicorn',
      'RUN pip install requests && pip cache purge'
    ],
    expect: []
  },
  {
    name: 'cache: npm ci without cleaning its cache',
    dockerfile: ['FROM node:20-slim', 'WORKDIR /app', 'COPY package.json package-lock.json ./', 'RUN npm ci --omit=dev', 'COPY . .'],
    expect: [['package-cache-kept', [4], 'stage-0']],
    messages: { 'package-cache-kept': ['npm cache clean --force', '--mount=type=cache,target=/root/.npm'] }
  },
  {
    name: 'cache: npm cleaned in the same RUN, or under a cache mount',
    dockerfile: [
      'FROM node:20-slim',
      'WORKDIR /app',
      'COPY package.json package-lock.json ./',
      'RUN npm ci --omit=dev && npm cache clean --force',
      'RUN --mount=type=cache,target=/root/.npm npm install -g pm2'
    ],
    expect: []
  },
  {
    name: 'cache: yum without clean all; with it',
    dockerfile: ['FROM rockylinux:9', 'RUN yum install -y curl', 'RUN yum install -y jq && yum clean all'],
    expect: [['package-cache-kept', [2], 'stage-0']],
    messages: { 'package-cache-kept': ['yum clean all'] }
  },
  {
    name: 'cache: a builder stage may keep its caches',
    dockerfile: [
      'FROM debian:bookworm-slim AS builder',
      'RUN apt-get update && apt-get install -y curl',
      'RUN pip install flask',
      'FROM debian:bookworm-slim',
      'COPY --from=builder /usr/bin/curl /usr/bin/curl'
    ],
    expect: []
  },
  {
    name: 'cache: apt cache mounts over both apt folders keep nothing; /var/cache/apt alone does not cover the lists',
    dockerfile: [
      'FROM debian:bookworm-slim',
      'RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\',
      '    --mount=type=cache,target=/var/lib/apt,sharing=locked \\',
      '    apt-get update && apt-get install -y --no-install-recommends curl',
      'RUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y --no-install-recommends jq'
    ],
    expect: [['package-cache-kept', [5], 'stage-0']],
    messages: { 'package-cache-kept': ['does not cover /var/lib/apt/lists'] }
  },

  // ------------------------------------------------------------------ apt-update-alone
  {
    name: 'update alone: in any stage, even a builder',
    dockerfile: [
      'FROM debian:bookworm-slim AS builder',
      'RUN apt-get update',
      'RUN apt-get install -y gcc && make',
      'FROM busybox',
      'COPY --from=builder /out /out'
    ],
    expect: [['apt-update-alone', [2], 'builder']],
    messages: { 'apt-update-alone': ['apt-get update && apt-get install -y --no-install-recommends'] }
  },
  {
    name: 'update alone: not when an upgrade or install follows in the same RUN (; chains too)',
    dockerfile: [
      'FROM debian:bookworm-slim',
      'RUN apt-get update && apt-get upgrade -y && rm -rf /var/lib/apt/lists/*',
      'RUN apt update; apt install -y --no-install-recommends curl; rm -rf /var/lib/apt/lists/*'
    ],
    expect: []
  },

  // ------------------------------------------------------------------ apt-no-install-recommends
  {
    name: 'recommends: the flag, -o APT::Install-Recommends=false, or apt configured earlier',
    dockerfile: [
      'FROM debian:bookworm-slim AS base',
      'RUN apt-get update && apt-get install -y -o APT::Install-Recommends=false curl && rm -rf /var/lib/apt/lists/*',
      'RUN echo \'APT::Install-Recommends "0";\' > /etc/apt/apt.conf.d/99-no-recommends',
      'FROM base',
      'RUN apt-get update && apt-get install -y jq && rm -rf /var/lib/apt/lists/*'
    ],
    expect: []
  },
  {
    name: 'recommends: apt install without the flag',
    dockerfile: ['FROM debian:bookworm-slim', 'RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*'],
    expect: [['apt-no-install-recommends', [2], 'stage-0']],
    messages: { 'apt-no-install-recommends': ['apt-get install -y --no-install-recommends', 'curl'] }
  },

  // ------------------------------------------------------------------ source-before-dependencies
  {
    name: 'source first: npm ci after COPY . .',
    dockerfile: ['FROM node:20-alpine', 'WORKDIR /app', 'COPY . .', 'RUN npm ci && npm cache clean --force', 'CMD ["node", "server.js"]'],
    expect: [['source-before-dependencies', [3, 4], 'stage-0']],
    messages: { 'source-before-dependencies': ['package.json and package-lock.json', 'line 3', 'line 4'] }
  },
  {
    name: 'source first: manifests copied first, source after: fine',
    dockerfile: [
      'FROM node:20-alpine',
      'WORKDIR /app',
      'COPY package.json package-lock.json ./',
      'RUN npm ci && npm cache clean --force',
      'COPY . .',
      'RUN npm run build'
    ],
    expect: []
  },
  {
    name: 'source first: go mod download in a builder stage, final FROM scratch',
    dockerfile: [
      'FROM golang:1.22 AS build',
      'WORKDIR /src',
      'COPY . .',
      'RUN go mod download && CGO_ENABLED=0 go build -o /app .',
      'FROM scratch',
      'COPY --from=build /app /app',
      'ENTRYPOINT ["/app"]'
    ],
    expect: [['source-before-dependencies', [3, 4], 'build']],
    messages: { 'source-before-dependencies': ['go.mod and go.sum'] }
  },
  {
    name: 'source first: ADD ./ before pip install . (and -e .)',
    dockerfile: ['FROM python:3.12-slim', 'ADD ./ /src', 'RUN pip install --no-cache-dir -e .'],
    expect: [['source-before-dependencies', [2, 3], 'stage-0']],
    messages: { 'source-before-dependencies': ['pyproject.toml'] }
  },

  // ------------------------------------------------------------------ no-dockerignore
  {
    name: 'dockerignore: missing, with .git and node_modules at the root',
    dockerfile: ['FROM node:20-alpine', 'WORKDIR /app', 'COPY package*.json ./', 'RUN npm ci && npm cache clean --force', 'COPY . .'],
    context: { hasDockerignore: false, rootNames: ['.git', 'node_modules', 'src', 'package.json'] },
    expect: [['no-dockerignore', [5], null]],
    messages: { 'no-dockerignore': ['.git, node_modules', '.dockerignore'] }
  },
  {
    name: 'dockerignore: present, or nothing worth ignoring, or no whole-context COPY',
    dockerfile: ['FROM busybox', 'COPY src/ /app/'],
    context: { hasDockerignore: false, rootNames: ['.git', 'src'] },
    expect: []
  },
  {
    name: 'dockerignore: a .dockerignore exists',
    dockerfile: ['FROM busybox', 'COPY . /app'],
    context: { hasDockerignore: true, rootNames: ['.git', 'node_modules'] },
    expect: []
  },
  {
    name: 'dockerignore: no offending names at the root',
    dockerfile: ['FROM busybox', 'COPY * /app/'],
    context: { hasDockerignore: false, rootNames: ['src', 'README.md'] },
    expect: []
  },
  {
    name: 'dockerignore: COPY --from=. is not the context',
    dockerfile: ['FROM busybox AS a', 'RUN true', 'FROM busybox', 'COPY --from=a . /app'],
    context: { hasDockerignore: false, rootNames: ['.git'] },
    expect: []
  },

  // ------------------------------------------------------------------ full-base-image
  {
    name: 'base: ARG default in FROM',
    dockerfile: ['ARG PYTHON_VERSION=3.11', 'FROM python:${PYTHON_VERSION}', 'CMD ["python"]'],
    expect: [['full-base-image', [1, 2], 'stage-0']],
    messages: { 'full-base-image': ['python:3.11-slim'] }
  },
  {
    name: 'base: a build arg picks the slim variant',
    dockerfile: ['ARG PYTHON_VERSION=3.11', 'FROM python:${PYTHON_VERSION}', 'CMD ["python"]'],
    buildArgs: { PYTHON_VERSION: '3.11-slim' },
    expect: []
  },
  {
    name: 'base: ${VAR:-default} and a build arg giving a full image',
    dockerfile: ['ARG BASE', 'FROM ${BASE:-busybox}', 'RUN true'],
    buildArgs: { BASE: 'node:20-bookworm' },
    expect: [['full-base-image', [2], 'stage-0']],
    messages: { 'full-base-image': ['node:20-slim'] }
  },
  {
    name: 'base: a variable without a value is not guessed',
    dockerfile: ['ARG BASE', 'FROM $BASE', 'RUN true'],
    expect: []
  },
  {
    name: 'base: followed through stage aliases to the real image',
    dockerfile: ['FROM node:20 AS base', 'WORKDIR /app', 'FROM base AS deps', 'COPY package.json .', 'FROM deps', 'CMD ["node"]'],
    expect: [['full-base-image', [1, 5], 'base']],
    messages: { 'full-base-image': ['node:20-slim', 'node:20-alpine', 'FROM base, FROM deps'] }
  },
  {
    name: 'base: golang as the final stage',
    dockerfile: ['FROM golang:1.22', 'WORKDIR /src', 'COPY go.mod go.sum ./', 'RUN go mod download', 'COPY . .', 'RUN go build -o /app', 'CMD ["/app"]'],
    expect: [['full-base-image', [1], 'stage-0']],
    messages: { 'full-base-image': ['scratch', 'distroless'] }
  },
  {
    name: 'base: debian, JDK, openjdk, rust',
    dockerfile: ['FROM debian:bookworm AS a', 'FROM eclipse-temurin:17-jdk-jammy AS b', 'FROM openjdk:17 AS c', 'FROM rust:1.79 AS d', 'FROM debian:bookworm'],
    expect: [['full-base-image', [5], 'stage-4']],
    messages: { 'full-base-image': ['debian:bookworm-slim'] }
  },
  {
    name: 'base: smaller variants and unknown images are left alone',
    dockerfile: [
      'FROM python:3.12-slim-bookworm AS a',
      'FROM node:20-alpine AS b',
      'FROM alpine:3.20 AS c',
      'FROM gcr.io/distroless/static-debian12 AS d',
      'FROM myorg/python:3.12 AS e',
      'FROM eclipse-temurin:21-jre AS f',
      'FROM ubuntu:24.04 AS g',
      'FROM scratch'
    ],
    expect: []
  },

  // ------------------------------------------------------------------ target selection
  {
    name: 'target: without one, the last stage is the final one',
    dockerfile: [
      'FROM python:3.12-slim AS prod',
      'COPY app /app',
      'FROM python:3.12 AS dev',
      'RUN apt-get update && apt-get install -y --no-install-recommends gcc && rm -rf /var/lib/apt/lists/*'
    ],
    expect: [
      ['full-base-image', [3], 'dev'],
      ['build-tools-in-final-stage', [4], 'dev']
    ]
  },
  {
    name: 'target: the named stage is the final one (names match case-insensitively)',
    dockerfile: [
      'FROM python:3.12-slim AS prod',
      'COPY app /app',
      'FROM python:3.12 AS dev',
      'RUN apt-get update && apt-get install -y --no-install-recommends gcc && rm -rf /var/lib/apt/lists/*'
    ],
    target: 'PROD',
    expect: []
  },
  {
    name: 'target: a name no stage has leaves only the stage-independent rules',
    dockerfile: ['FROM python:3.12 AS app', 'RUN apt-get update', 'RUN apt-get install -y gcc'],
    target: 'nope',
    expect: [['apt-update-alone', [2], 'app']]
  },

  // ------------------------------------------------------------------ syntax
  {
    name: 'syntax: continuations with comment lines; words on later lines',
    dockerfile: [
      'FROM debian:bookworm-slim',
      'RUN apt-get update \\',
      '    # the compiler for the native extension',
      '    && apt-get install -y --no-install-recommends \\',
      '        gcc \\',
      '        libc6-dev \\',
      '    && rm -rf /var/lib/apt/lists/*'
    ],
    expect: [['build-tools-in-final-stage', [2], 'stage-0']],
    messages: { 'build-tools-in-final-stage': ['gcc on line 5', 'libc6-dev on line 6'] }
  },
  {
    name: 'syntax: exec form RUN',
    dockerfile: ['FROM debian:bookworm-slim', 'RUN ["apt-get", "install", "-y", "gcc"]'],
    expect: [
      ['build-tools-in-final-stage', [2], 'stage-0'],
      ['package-cache-kept', [2], 'stage-0'],
      ['apt-no-install-recommends', [2], 'stage-0']
    ]
  },
  {
    name: 'syntax: exec form running sh -c',
    dockerfile: ['FROM debian:bookworm-slim', 'RUN ["/bin/sh", "-c", "apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*"]'],
    expect: [['build-tools-in-final-stage', [2], 'stage-0']]
  },
  {
    name: 'syntax: heredoc script is read; heredoc data is not',
    dockerfile: [
      'FROM debian:bookworm-slim',
      'RUN <<EOF',
      'apt-get update',
      'apt-get install -y --no-install-recommends make',
      'rm -rf /var/lib/apt/lists/*',
      'EOF',
      'RUN cat <<EOF > /usr/local/bin/setup.sh',
      'apt-get update',
      'apt-get install -y gcc',
      'EOF'
    ],
    expect: [['build-tools-in-final-stage', [2], 'stage-0']],
    messages: { 'build-tools-in-final-stage': ['make on line 4'] }
  },
  {
    name: 'syntax: lower-case instructions, sudo, env and VAR=value prefixes, sh -c strings',
    dockerfile: [
      'from debian:bookworm-slim',
      'run apt-get update',
      'run DEBIAN_FRONTEND=noninteractive sudo -E apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*',
      'run sh -c "apt-get update && apt-get install -y --no-install-recommends g++ && rm -rf /var/lib/apt/lists/*"'
    ],
    expect: [
      ['apt-update-alone', [2], 'stage-0'],
      ['build-tools-in-final-stage', [4], 'stage-0']
    ]
  },
  {
    name: 'syntax: comments, quotes and redirections do not make commands',
    dockerfile: [
      '# syntax=docker/dockerfile:1',
      'FROM debian:bookworm-slim',
      '# RUN apt-get install -y gcc',
      'RUN echo "apt-get install -y gcc" > /notes.txt # apt-get update',
      "RUN printf 'apt-get update\\n' 2>&1 >/dev/null"
    ],
    expect: []
  },
  {
    name: 'syntax: escape directive',
    dockerfile: ['# escape=`', 'FROM debian:bookworm-slim', 'RUN apt-get update && `', '    apt-get install -y --no-install-recommends gcc && `', '    rm -rf /var/lib/apt/lists/*'],
    expect: [['build-tools-in-final-stage', [3], 'stage-0']]
  }
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const findings = adviseDockerfile({
      dockerfile: parseDockerfile(c.dockerfile.join('\n') + '\n', c.buildArgs),
      ...(c.target !== undefined ? { target: c.target } : {}),
      ...(c.context ? { context: c.context } : {})
    })
    const got = findings.map((f) => [f.rule, f.lines, f.stage])
    const key = (e: unknown[]) => JSON.stringify(e)
    t.same(got.map(key).sort(), c.expect.map(key).sort(), findings.map((f) => `${f.rule}: ${f.message}`).join('\n') || 'no findings')
    for (const [rule, expected] of Object.entries(c.messages ?? {})) {
      const messages = findings.filter((f) => f.rule === rule).map((f) => f.message)
      t.ok(messages.length > 0, `${rule} reported`)
      for (const text of expected) {
        t.ok(
          messages.some((m) => (typeof text === 'string' ? m.includes(text) : text.test(m))),
          `${rule} says ${String(text)}`
        )
      }
    }
    t.notOk(
      findings.some((f) => f.rule === 'files-deleted-later'),
      'files-deleted-later is measured in the image, never reported here'
    )
  })
}

t.test('the article multi-stage, with the final stage inspected on its own terms', async (t) => {
  const findings = adviseDockerfile({ dockerfile: parseDockerfile(ARTICLE_MULTI_STAGE.join('\n')) })
  for (const rule of ['build-tools-in-final-stage', 'package-cache-kept', 'full-base-image'] as const) {
    t.notOk(
      findings.some((f) => f.rule === rule),
      `no ${rule}`
    )
  }
  // The same file with its final stage on a full image and without --no-cache on apk.
  const worse = ARTICLE_MULTI_STAGE.map((line) => (line === 'FROM python:3.8-alpine' ? 'FROM python:3.8' : line.replace('apk add --no-cache libpq', 'apk add libpq')))
  const rules = adviseDockerfile({ dockerfile: parseDockerfile(worse.join('\n')) }).map((f) => [f.rule, f.lines])
  t.same(rules, [
    ['full-base-image', [13]],
    ['package-cache-kept', [15]]
  ])
})

t.test('every rule is documented, here and in the size insight guide', async (t) => {
  const guide = await readFile(new URL('../../../docs/guides/size-insight.md', import.meta.url), 'utf8')
  for (const id of RULE_IDS) {
    t.ok(ADVISOR_RULES[id].title.length > 5, `${id} has a title`)
    t.ok(ADVISOR_RULES[id].advice.length > 40, `${id} has advice`)
    t.ok(guide.includes(`| \`${id}\` |`), `${id} is in the guide's table of rules`)
  }
})

t.test('other dependency installers count for source-before-dependencies', async (t) => {
  const installers: [string, string][] = [
    ['poetry install --no-root', 'poetry.lock'],
    ['pipenv install --deploy', 'Pipfile.lock'],
    ['yarn install --frozen-lockfile', 'yarn.lock'],
    ['yarn', 'yarn.lock'],
    ['pnpm install --frozen-lockfile', 'pnpm-lock.yaml'],
    ['bundle install', 'Gemfile.lock'],
    ['mvn -B dependency:go-offline', 'pom.xml'],
    ['./gradlew dependencies', 'build.gradle'],
    ['composer install --no-dev', 'composer.lock'],
    ['cargo fetch', 'Cargo.lock'],
    ['cargo build --release', 'Cargo.lock'],
    ['pip install --no-cache-dir -rrequirements/base.txt', 'requirements/base.txt']
  ]
  for (const [command, manifest] of installers) {
    const findings = adviseDockerfile({ dockerfile: parseDockerfile(`FROM scratch\nCOPY . /src\nRUN ${command}\n`) })
    t.match(findings, [{ rule: 'source-before-dependencies', lines: [2, 3], message: new RegExp(manifest.replace(/\./g, '\\.')) }], command)
  }
  for (const command of ['npm install -g pm2 && npm cache clean --force', 'go build ./...', 'yarn build', 'pip install --no-cache-dir gunicorn']) {
    t.same(adviseDockerfile({ dockerfile: parseDockerfile(`FROM scratch\nCOPY . /src\nRUN ${command}\n`) }), [], `${command}: not a dependency install`)
  }
})

t.test('full-base-image: the smaller variant each final base image gets', async (t) => {
  // image, the suggestion the message must hold (null: not flagged)
  const images: [string, string | null][] = [
    ['python:3.12', 'python:3.12-slim'],
    ['python:3.12-bookworm', 'python:3.12-slim'],
    ['docker.io/library/python:latest', 'python:slim'],
    ['node:20', 'node:20-alpine'],
    ['public.ecr.aws/docker/library/node:20-bullseye', 'node:20-slim'],
    ['ruby:3.3', 'ruby:3.3-slim'],
    ['perl:5.38', 'perl:5.38-slim'],
    ['php:8.3-fpm', 'php:8.3-fpm-alpine'],
    ['php:8.3-apache', 'php:8.3-fpm-alpine'],
    ['debian:bookworm', 'debian:bookworm-slim'],
    ['debian:12', 'debian:12-slim'],
    ['debian', 'debian:stable-slim'],
    ['eclipse-temurin:17', 'eclipse-temurin:17-jre'],
    ['eclipse-temurin:21-jdk-jammy', 'eclipse-temurin:21-jre-jammy'],
    ['eclipse-temurin:21-jdk-alpine', 'eclipse-temurin:21-jre-alpine'],
    ['openjdk:17-jdk-slim', 'eclipse-temurin:17-jre'],
    ['golang:1.22', 'scratch'],
    ['golang:1.22-alpine', 'scratch'],
    ['rust:1.79-slim', 'distroless/cc'],
    ['python:3.12-slim', null],
    ['python:3.12-alpine3.20', null],
    ['node:20-bookworm-slim', null],
    ['php:8.3-cli-alpine', null],
    ['debian:bookworm-slim', null],
    ['debian:bookworm-backports', null],
    ['eclipse-temurin:21-jre-alpine', null],
    ['openjdk:11-jre-slim', null],
    ['python@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', null],
    ['busybox', null],
    ['alpine', null],
    ['scratch', null],
    ['ubuntu:24.04', null],
    ['gcr.io/distroless/python3-debian12', null],
    ['ghcr.io/acme/python:3.12', null],
    ['localhost:5000/node:20', null]
  ]
  for (const [image, suggestion] of images) {
    const findings = adviseDockerfile({ dockerfile: parseDockerfile(`FROM ${image}\nCMD ["true"]\n`) })
    if (suggestion === null) t.same(findings, [], `${image}: not flagged`)
    else t.match(findings, [{ rule: 'full-base-image', lines: [1], message: new RegExp(`use .*${suggestion.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`) }], `${image} → ${suggestion}`)
  }
})
