import fc from 'fast-check';
import { QlobberTrue } from 'qlobber';
import { describe, expect, it } from 'vitest';
import { channelOf, subscriptionOf } from './redis-channels.js';

/** Redis's glob as far as subscriptionOf uses it: `*` any run of bytes, `\x` a literal x. */
function globMatches(glob: string, channel: string): boolean {
  const source = glob.replace(/\\(.)|\*|([.+?^${}()|[\]\\])/g, (_m, escaped: string, special: string) =>
    escaped !== undefined ? `\\${escaped}` : special !== undefined ? `\\${special}` : '.*',
  );
  return new RegExp(`^${source}$`, 's').test(channel);
}

function reaches(filter: string, topic: string): boolean {
  const { channel, pattern } = subscriptionOf(filter);
  return pattern ? globMatches(channel, channelOf(topic)) : channel === channelOf(topic);
}

describe('Redis channels of the cluster', () => {
  it('cuts a topic at its fourth level', () => {
    expect(channelOf('evauth/v1/vehicles/V1/credentials/P1')).toBe('evauth/v1/vehicles/V1');
    expect(channelOf('evauth/v1/piles/P1/auth')).toBe('evauth/v1/piles/P1');
    expect(channelOf('evauth/v1/cloud/credential-requests')).toBe('evauth/v1/cloud/credential-requests');
    expect(channelOf('$SYS/node-1/new/clients')).toBe('$SYS/node-1/new/clients');
    expect(channelOf('a/b')).toBe('a/b');
  });

  it("subscribes a car's and a gateway's filters as plain channels, the shared wildcards as a few patterns", () => {
    expect(subscriptionOf('evauth/v1/vehicles/V1/#')).toEqual({
      channel: 'evauth/v1/vehicles/V1',
      pattern: false,
    });
    expect(subscriptionOf('evauth/v1/piles/P1/auth')).toEqual({
      channel: 'evauth/v1/piles/P1',
      pattern: false,
    });
    expect(subscriptionOf('evauth/v1/piles/+/status')).toEqual({
      channel: 'evauth/v1/piles/*',
      pattern: true,
    });
    expect(subscriptionOf('evauth/v1/directory/#')).toEqual({
      channel: 'evauth/v1/directory*',
      pattern: true,
    });
    expect(subscriptionOf('$SYS/+/new/clients')).toEqual({ channel: '$SYS/*/new/clients', pattern: true });
    expect(subscriptionOf('#')).toEqual({ channel: '*', pattern: true });
    // glob characters in a literal level match only themselves
    expect(subscriptionOf('a[1]/+')).toEqual({ channel: 'a\\[1\\]/*', pattern: true });
  });

  it('never loses a message: every topic a filter matches travels on a channel the filter subscribed to', () => {
    const level = fc.oneof(
      fc.constantFrom('evauth', 'v1', 'piles', 'P1', 'V1', 'a*', 'x?', '[b]', ''),
      fc.string(),
    );
    const topicLevels = fc.array(
      level.filter((l) => !/[+#/]/.test(l)),
      { minLength: 1, maxLength: 7 },
    );
    fc.assert(
      fc.property(
        topicLevels,
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 7, maxLength: 7 }),
        fc.nat(7),
        (levels, wild, cut) => {
          const topic = levels.join('/');
          // a filter that matches the topic: some levels replaced by +, maybe the tail by #
          const filterLevels = levels.map((l, i) => (wild[i] === 1 ? '+' : l));
          const filter =
            cut < filterLevels.length
              ? [...filterLevels.slice(0, cut), '#'].join('/')
              : filterLevels.join('/');
          const mqtt = new QlobberTrue({
            separator: '/',
            wildcard_one: '+',
            wildcard_some: '#',
            match_empty_levels: true,
          });
          if (!mqtt.add(filter).test(topic)) return; // (only the filters MQTT says match)
          expect(reaches(filter, topic)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
