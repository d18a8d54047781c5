import t from 'tap'
import { createByteLru } from '../../src/services/byte-lru.js'

t.test('holds at most its bytes, dropping the least recently used first', async (t) => {
  const lru = createByteLru<string>(10)
  lru.set('a', 'A', 4)
  lru.set('b', 'B', 4)
  t.equal(lru.get('a'), 'A', 'a is used: b is now the oldest')
  lru.set('c', 'C', 4)
  t.equal(lru.get('b'), undefined, 'b went to make room')
  t.equal(lru.get('a'), 'A')
  t.equal(lru.get('c'), 'C')
  t.equal(lru.bytes, 8)
  lru.set('big', 'X', 11)
  t.equal(lru.get('big'), undefined, 'larger than the whole budget: not kept')
  t.equal(lru.bytes, 8, 'and nothing dropped for it')
  lru.set('a', 'A2', 2)
  t.equal(lru.bytes, 6, 'a value set again is counted once')
  lru.delete('c')
  t.equal(lru.bytes, 2)
  lru.clear()
  t.equal(lru.bytes, 0)
  t.equal(lru.get('a'), undefined)
})
