import t from 'tap'
import { parseRepoUrl, printable, repoKey } from '../../../src/domain/builds/repo-url.js'

/** The error parseRepoUrl throws for `input`, or undefined when it accepts it. */
function rejection (input: string, allowLocal: boolean): (Error & { code?: string; statusCode?: number }) | undefined {
  try {
    parseRepoUrl(input, { allowLocal })
  } catch (error) {
    return error as Error & { code?: string }
  }
  return undefined
}

t.test('accepted remote URLs, with their key and name', async (t) => {
  // input, url git is given, key, name
  const cases: [string, string, string, string][] = [
    ['https://github.com/acme/app.git', 'https://github.com/acme/app.git', 'github.com/acme/app', 'app'],
    ['https://github.com/acme/app', 'https://github.com/acme/app', 'github.com/acme/app', 'app'],
    ['https://github.com/acme/app/', 'https://github.com/acme/app/', 'github.com/acme/app', 'app'],
    ['https://github.com/acme/app.git/', 'https://github.com/acme/app.git/', 'github.com/acme/app', 'app'],
    ['HTTPS://GitHub.com/acme/App.git', 'https://github.com/acme/App.git', 'github.com/acme/App', 'app'],
    ['https://git.example.com:8443/a/b/c.git', 'https://git.example.com:8443/a/b/c.git', 'git.example.com:8443/a/b/c', 'c'],
    ['https://gitlab.com/group/sub/project', 'https://gitlab.com/group/sub/project', 'gitlab.com/group/sub/project', 'project'],
    ['ssh://git@github.com/acme/app.git', 'ssh://git@github.com/acme/app.git', 'github.com/acme/app', 'app'],
    ['ssh://github.com/acme/app', 'ssh://github.com/acme/app', 'github.com/acme/app', 'app'],
    ['ssh://git@github.com:2222/acme/app.git', 'ssh://git@github.com:2222/acme/app.git', 'github.com:2222/acme/app', 'app'],
    ['ssh://git@github.com/~user/repo.git', 'ssh://git@github.com/~user/repo.git', 'github.com/~user/repo', 'repo'],
    ['git@github.com:acme/app.git', 'git@github.com:acme/app.git', 'github.com/acme/app', 'app'],
    ['git@GitHub.com:acme/app', 'git@GitHub.com:acme/app', 'github.com/acme/app', 'app'],
    ['github.com:acme/app', 'github.com:acme/app', 'github.com/acme/app', 'app'],
    ['host:/srv/git/project.git', 'host:/srv/git/project.git', 'host/srv/git/project', 'project'],
    ['[::1]:repo', '[::1]:repo', '[::1]/repo', 'repo'],
    // The name is a valid image name component, whatever the repository is called.
    ['https://github.com/acme/My_App!!.git', 'https://github.com/acme/My_App!!.git', 'github.com/acme/My_App!!', 'my_app'],
    ['https://github.com/acme/My.Repo', 'https://github.com/acme/My.Repo', 'github.com/acme/My.Repo', 'my.repo'],
    ['https://github.com/acme/a..b--c', 'https://github.com/acme/a..b--c', 'github.com/acme/a..b--c', 'a-b-c'],
    ['https://github.com/acme/---', 'https://github.com/acme/---', 'github.com/acme/---', 'app']
  ]
  for (const [input, url, key, name] of cases) {
    for (const allowLocal of [false, true]) {
      t.strictSame(parseRepoUrl(input, { allowLocal }), { url, key, name, local: false }, `${input} (allowLocal ${allowLocal})`)
    }
    t.equal(repoKey(input), key, `repoKey(${input})`)
  }
})

t.test('https and ssh forms of one repository share a key; .git and a trailing slash do not change it', async (t) => {
  const forms = [
    'https://github.com/acme/app',
    'https://github.com/acme/app.git',
    'https://github.com/acme/app/',
    'https://github.com/acme/app.git/',
    'ssh://git@github.com/acme/app.git',
    'ssh://github.com/acme/app',
    'git@github.com:acme/app.git',
    'git@github.com:acme/app/',
    'github.com:acme/app'
  ]
  for (const form of forms) t.equal(repoKey(form), 'github.com/acme/app', form)
  t.not(repoKey('https://github.com/acme/other'), repoKey('https://github.com/acme/app'), 'another repository, another key')
  t.not(repoKey('https://gitlab.com/acme/app'), repoKey('https://github.com/acme/app'), 'another host, another key')
})

t.test('local paths and file:// URLs only when local repositories are allowed', async (t) => {
  const cases: [string, string, string, string][] = [
    ['/srv/repos/app.git', 'file:///srv/repos/app.git', '/srv/repos/app', 'app'],
    ['/srv/repos/app/', 'file:///srv/repos/app/', '/srv/repos/app', 'app'],
    ['/srv/../srv/repos/./app', 'file:///srv/repos/app', '/srv/repos/app', 'app'],
    ['file:///srv/repos/app.git', 'file:///srv/repos/app.git', '/srv/repos/app', 'app'],
    ['file:///srv/my%20repo', 'file:///srv/my%20repo', '/srv/my repo', 'my-repo']
  ]
  for (const [input, url, key, name] of cases) {
    t.strictSame(parseRepoUrl(input, { allowLocal: true }), { url, key, name, local: true }, `${input} allowed`)
    const error = rejection(input, false)
    t.equal(error?.code, 'LOCAL_REPOS_DISABLED', `${input} refused when local repositories are off`)
    t.equal(error?.statusCode, 400)
    t.match(error?.message, /SLIPWAY_ALLOW_LOCAL_REPOS=true/, 'says how to allow them')
    t.equal(repoKey(input), key, `repoKey(${input}) works whatever the policy`)
  }
  t.equal(rejection('file://host/srv/x', true)?.code, 'REPO_URL_INVALID', 'a file:// URL with a host is invalid')
  t.equal(rejection('file://host/srv/x', false)?.code, 'LOCAL_REPOS_DISABLED')
})

t.test('rejected with REPO_URL_INVALID', async (t) => {
  // input, what the message says (allowLocal is on, so nothing is refused only for being local)
  const cases: [string, RegExp][] = [
    ['ext::sh -c touch% /tmp/pwned', /spaces or control characters/],
    ['ext::git-upload-pack', /transport helper/],
    ['fd::17', /transport helper/],
    ['transport::https://github.com/acme/app', /transport helper/],
    ['-u', /starts with "-"/],
    ['--upload-pack=touch%20/tmp/x', /starts with "-"/],
    ['-oProxyCommand=touch%20/tmp/x', /starts with "-"/],
    ['-oProxyCommand=touch /tmp/x', /spaces or control characters/],
    ['git@github.com:-oProxyCommand=x', /path starting with "-"/],
    ['-oProxyCommand=x:path', /starts with "-"/],
    ['git@-oProxy:path', /host or path starting with "-"/],
    ['ssh://-oProxyCommand=touch/x', /host starting with "-"/],
    ['ssh://git@-oProxyCommand=touch/x', /host starting with "-"/],
    ['https://-evil/x', /host starting with "-"/],
    ['https://github.com/acme/a\nb', /control characters/],
    ['https://github.com/acme/app\t', /control characters/],
    ['https://github.com/acme/app\u0000', /control characters/],
    ['https://github.com/acme/app\u0085', /control characters/],
    ['https://github.com/acme/my app', /spaces/],
    [' https://github.com/acme/app', /spaces/],
    ['http://github.com/acme/app', /plain http/],
    ['HTTP://github.com/acme/app', /plain http/],
    ['ftp://example.com/app.git', /"ftp" scheme/],
    ['git://github.com/acme/app.git', /"git" scheme/],
    ['rsync://example.com/app', /"rsync" scheme/],
    ['https://github.com/acme/app?ref=main', /query or fragment/],
    ['https://github.com/acme/app#main', /query or fragment/],
    ['ssh://git@github.com/acme/app.git#x', /query or fragment/],
    ['https://github.com', /no repository path/],
    ['https://github.com/', /no repository path/],
    ['ssh://github.com/', /no repository path/],
    ['ssh://git@github.com:acme/app.git', /not a valid URL/],
    ['app', /not a repository URL git can fetch/],
    ['user@host:', /not a repository URL/],
    ['host:path:more', /not a repository URL/],
    ['', /not a repository URL/]
  ]
  for (const [input, why] of cases) {
    for (const allowLocal of [true, false]) {
      const error = rejection(input, allowLocal)
      t.equal(error?.code, 'REPO_URL_INVALID', `${JSON.stringify(input)} (allowLocal ${allowLocal})`)
    }
    const error = rejection(input, true)
    t.match(error?.message, why, `${JSON.stringify(input)}: ${why}`)
    t.match(error?.message, /Use https:\/\/host\/path/, 'says what to give instead')
    t.notMatch(error?.message, /[\u0000-\u001f]/, 'the message itself has no control characters')
  }
})

t.test('bidirectional controls and invisible characters, anywhere, are refused and echoed visibly', async (t) => {
  // input, the character the message names
  const cases: [string, string][] = [
    ['https://g\u0456t.example.com/a.git\u202e', 'U+202E'],
    ['https://github.com/acme/app\u202e', 'U+202E'],
    ['\u200fhttps://github.com/acme/app', 'U+200F'],
    ['https://github.com/acme/\u200eapp', 'U+200E'],
    ['https://github.com/acme/\u202aapp\u202c', 'U+202A'],
    ['git@github.com:acme/\u2066app\u2069.git', 'U+2066'],
    ['ssh://git@github.com/acme/app\u2067.git', 'U+2067'],
    ['https://github.com/acme/app\u061c', 'U+061C'],
    ['https://github.com/acme/\u200bapp', 'U+200B'],
    ['https://github\u200d.com/acme/app', 'U+200D'],
    ['https://github.com/acme/app\ufeff', 'U+FEFF'],
    ['https://github.com/acme/ap\u00adp', 'U+00AD'],
    ['https://github.com/acme/a\u00a0pp', 'U+00A0'],
    ['https://github.com/acme/app\u2028', 'U+2028'],
    // Encoded, they would come back in the repository's key and name.
    ['https://github.com/acme/app%E2%80%AE.git', 'U+202E'],
    ['https://github.com/acme/%E2%80%8Bapp', 'U+200B'],
    ['https://github.com/acme/%FF%E2%80%AEapp', 'U+202E'],
    // A tag character, outside the Basic Multilingual Plane.
    ['https://github.com/acme/app\u{e0041}', 'U+E0041']
  ]
  for (const [input, named] of cases) {
    // Test names too are printed with printable(): TAP would read a raw U+2028 as a line break.
    for (const allowLocal of [true, false]) t.equal(rejection(input, allowLocal)?.code, 'REPO_URL_INVALID', `${printable(input)} (allowLocal ${allowLocal})`)
    const message = rejection(input, true)?.message ?? ''
    t.match(message, /invisible or bidirectional/, `${printable(input)}: says why`)
    t.ok(message.includes(named), `${printable(input)}: names ${named}`)
    t.notMatch(message, /[\p{Cf}\u00a0\u2028]/u, `${printable(input)}: the message shows none of them raw`)
  }
})

t.test('a host name that mixes scripts in a label is refused, encoded as punycode or not', async (t) => {
  const cases: [string, RegExp][] = [
    ['https://g\u0456t.example.com/a.git', /'g\u0456t' mixes Latin and Cyrillic/],
    ['https://xn--gt-hoc.example.com/a.git', /'g\u0456t' mixes Latin and Cyrillic/],
    ['HTTPS://G\u0406T.EXAMPLE.COM/a.git', /mixes Latin and Cyrillic/],
    ['https://\u0430pple.com/acme/app', /mixes Cyrillic and Latin/],
    ['ssh://git@g\u0456t.example.com/a.git', /mixes Latin and Cyrillic/],
    ['ssh://git@xn--gt-hoc.example.com/a.git', /mixes Latin and Cyrillic/],
    ['git@xn--gt-hoc.example.com:a.git', /mixes Latin and Cyrillic/],
    ['xn--gt-hoc.example.com:a.git', /mixes Latin and Cyrillic/],
    ['https://github.xn--cm-jbc/acme/app', /mixes Latin and Greek/],
    ['https://xn--github-3k1b.com/acme/app', /mixes|script/],
    // A fraction slash: a host that reads as github.com followed by a path.
    ['https://github.com\u2044evil.example/acme/app', /U\+2044/],
    ['https://github.xn--comevil-3d7c.com/acme/app', /U\+2044/],
    ['ssh://git@xn--zz.example.com/a.git', /not a valid internationalised/]
  ]
  for (const [input, why] of cases) {
    const error = rejection(input, false)
    t.equal(error?.code, 'REPO_URL_INVALID', JSON.stringify(input))
    t.match(error?.message, why, `${JSON.stringify(input)}: ${why}`)
    t.equal(error?.statusCode, 400)
  }
  t.throws(() => parseRepoUrl('http://g\u0456t.internal/a.git', { allowLocal: false, allowHttp: true }), { code: 'REPO_URL_INVALID' }, 'plain http too')
})

t.test('single-script internationalised host names are accepted, Unicode or punycode', async (t) => {
  const cases: [string, string][] = [
    ['https://b\u00fccher.de/team/app.git', 'xn--bcher-kva.de/team/app'],
    ['https://xn--bcher-kva.de/team/app.git', 'xn--bcher-kva.de/team/app'],
    ['https://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/team/app', 'xn--e1afmkfd.xn--p1ai/team/app'],
    ['https://\u043f\u0440\u0438\u043c\u0435\u0440.com/team/app', 'xn--e1afmkfd.com/team/app'],
    ['https://\u4f8b\u3048.jp/team/app', 'xn--r8jz45g.jp/team/app'],
    ['https://\u30b3\u30fc\u30d2\u30fc.jp/team/app', 'xn--tck2c4fb.jp/team/app'],
    ['https://git-2.example.com/team/app', 'git-2.example.com/team/app'],
    ['git@xn--bcher-kva.de:team/app.git', 'xn--bcher-kva.de/team/app']
  ]
  for (const [input, key] of cases) t.equal(parseRepoUrl(input, { allowLocal: false }).key, key, input)
})

t.test('credentials in a URL are refused, and never echoed', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['https://user:hunter2secret@github.com/acme/app.git', 'hunter2secret', /carries credentials/],
    ['https://ghp_abcdefTOKEN0123456789@github.com/acme/app', 'ghp_abcdefTOKEN0123456789', /carries credentials/],
    ['https://x-access-token:ghs_INSTALLTOKEN@github.com/acme/app', 'ghs_INSTALLTOKEN', /carries credentials/],
    ['https://:onlypassword42@github.com/acme/app', 'onlypassword42', /carries credentials/],
    ['https://user:p@ss@word@github.com/acme/app', 'ss@word', /carries credentials/],
    ['https://user:hunter2secret@github.com', 'hunter2secret', /carries credentials/],
    ['ssh://git:sshpassword1@github.com/acme/app.git', 'sshpassword1', /carries a password/],
    ['ssh://:sshpassword2@github.com/acme/app.git', 'sshpassword2', /carries a password/],
    // Refused for other reasons, still never echoed.
    ['git:scpsecret@github.com:acme/app.git', 'scpsecret', /not a repository URL git can fetch/],
    ['https://user:pa/sssecret@github.com/a/b', 'sssecret', /./],
    ['https://github.com/acme/app.git?token=ghp_QUERYSECRET', 'ghp_QUERYSECRET', /query or fragment/]
  ]
  for (const [input, secret, why] of cases) {
    const error = rejection(input, false)
    t.equal(error?.code, 'REPO_URL_INVALID', input)
    t.match(error?.message, why)
    t.notMatch(error?.message ?? secret, secret, `the message does not contain '${secret}'`)
    if (input.includes('@')) t.match(error?.message, /\*\*\*@/, 'the userinfo is shown masked')
  }
  // A user name alone is fine for ssh (it is the login, not a secret).
  t.equal(parseRepoUrl('ssh://deploy@example.com/app.git', { allowLocal: false }).key, 'example.com/app')
})

t.test('a long or unprintable input is echoed bounded and escaped', async (t) => {
  const long = 'https://github.com/acme/' + 'a'.repeat(300) + '?x'
  const error = rejection(long, false)
  t.equal(error?.code, 'REPO_URL_INVALID')
  t.ok((error?.message.length ?? Infinity) < 400, 'the echoed input is cut short')
  t.match(error?.message, /a…'/, 'with an ellipsis where it was cut')
  t.equal(printable('a\nb\u0000'), 'a\\nb\\u0000')
  t.equal(printable('x'.repeat(201)), 'x'.repeat(200) + '…')
  t.equal(printable('x'.repeat(200)), 'x'.repeat(200))
  t.equal(printable('a\u202eb c\u{e0041}'), 'a\\u202eb c\\u{e0041}', 'invisible characters too, spaces aside')
})

t.test('repoKey is tolerant: input it cannot parse is its own key', async (t) => {
  t.equal(repoKey('not a url'), 'not a url')
  t.equal(repoKey('ftp://github.com/acme/app'), 'ftp://github.com/acme/app')
  t.equal(repoKey('http://github.com/acme/app'), 'github.com/acme/app', 'plain http is keyed like https, for servers that allow it')
  t.equal(repoKey('/srv/repos/app.git'), '/srv/repos/app', 'local paths are keyed even when the server refuses them')
})

t.test('plain http only when allowed; a host allowlist, with subdomain patterns', async (t) => {
  t.throws(() => parseRepoUrl('http://git.internal/app.git', { allowLocal: false }), { code: 'REPO_URL_INVALID' })
  t.equal(parseRepoUrl('http://git.internal/app.git', { allowLocal: false, allowHttp: true }).key, 'git.internal/app')
  const policy = { allowLocal: true, allowHosts: ['github.com', '*.corp.example'] }
  for (const url of ['https://github.com/acme/app', 'git@github.com:acme/app.git', 'ssh://git@git.corp.example:2222/team/app', '/srv/git/local']) {
    t.doesNotThrow(() => parseRepoUrl(url, policy), url)
  }
  for (const url of ['https://gitlab.com/acme/app', 'https://evilgithub.com/x/y', 'https://github.com.evil.io/x/y', 'https://corp.example/x/y']) {
    t.throws(() => parseRepoUrl(url, policy), { code: 'REPO_HOST_NOT_ALLOWED', message: /github\.com, \*\.corp\.example/ }, url)
  }
})
