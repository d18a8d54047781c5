import t from 'tap'
import { instructionOf } from '../../../workers/phases/inspect.js'

t.test('instructionOf: the Dockerfile instruction behind an image history entry', async (t) => {
  // CreatedBy, Comment, instruction
  const cases: [string, string, string, string][] = [
    ['classic builder, metadata step', '/bin/sh -c #(nop)  ENV A=b', '', 'ENV A=b'],
    ['classic builder, CMD', '/bin/sh -c #(nop)  CMD ["sh"]', '', 'CMD ["sh"]'],
    ['classic builder, COPY with trailing space', '/bin/sh -c #(nop) COPY file:abc in /app ', '', 'COPY file:abc in /app'],
    ['classic builder, RUN', '/bin/sh -c apt-get update', '', 'RUN apt-get update'],
    ['classic builder, RUN over several lines', '/bin/sh -c apt-get update \\\n  && apt-get install -y curl', '', 'RUN apt-get update \\\n  && apt-get install -y curl'],
    ['classic builder, RUN with build args', '|2 A=1 B=two words /bin/sh -c make', '', 'RUN make'],
    ['classic builder, RUN with one build arg', '|1 VERSION=1.0 /bin/sh -c echo $VERSION', '', 'RUN echo $VERSION'],
    ['classic builder, metadata step after a SHELL', '/bin/ash -eo pipefail -c #(nop)  LABEL a=1', '', 'LABEL a=1'],
    ['BuildKit RUN', 'RUN /bin/sh -c make # buildkit', 'buildkit.dockerfile.v0', 'RUN make'],
    ['BuildKit RUN with build args', 'RUN |2 A=1 B=2 /bin/sh -c make # buildkit', 'buildkit.dockerfile.v0', 'RUN make'],
    ['BuildKit COPY', 'COPY . . # buildkit', 'buildkit.dockerfile.v0', 'COPY . .'],
    ['BuildKit metadata step', 'WORKDIR /app', 'buildkit.dockerfile.v0', 'WORKDIR /app'],
    ['BuildKit exec-form RUN', 'RUN ["make", "all"] # buildkit', 'buildkit.dockerfile.v0', 'RUN ["make", "all"]'],
    ['a base image layer, imported', '', 'Imported from -', 'Imported from -'],
    ['a base image layer, added as a file', 'ADD file:4f2b in / ', '', 'ADD file:4f2b in /'],
    ['nothing recorded', '', '', '(base image layer)'],
    ['only whitespace recorded', '  \n', ' ', '(base image layer)'],
    ['some other tool', 'created by kaniko', '', 'created by kaniko']
  ]
  for (const [name, CreatedBy, Comment, expected] of cases) {
    t.equal(instructionOf({ CreatedBy, Comment }), expected, name)
  }
})

t.test('"# buildkit" only counts as the suffix BuildKit appends', async (t) => {
  t.equal(instructionOf({ CreatedBy: '/bin/sh -c echo "# buildkit" > f', Comment: '' }), 'RUN echo "# buildkit" > f')
})
