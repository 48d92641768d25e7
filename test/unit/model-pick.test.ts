import { describe, expect, it } from 'vitest';
import { bedrockSettings, tierSettings } from '../../src/tools/claude.js';
import { claudeVersion, pickCodexModel, pickTiers } from '../../src/tools/model-pick.js';

// A gateway's list as Anthropic's /v1/models returns it (newest first is not guaranteed by gateways).
const ANTHROPIC_IDS = [
  'claude-3-5-haiku-20241022',
  'claude-3-haiku-20240307',
  'claude-sonnet-4-20250514',
  'claude-3-7-sonnet-20250219',
  'claude-sonnet-4-5-20250929',
  'claude-3-5-sonnet-20241022',
  'claude-opus-4-20250514',
  'claude-opus-4-1-20250805',
  'claude-3-opus-20240229',
  'claude-haiku-4-5-20251001',
];

describe('claudeVersion', () => {
  it('reads the version and the snapshot date in either naming scheme', () => {
    expect(claudeVersion('claude-3-5-haiku-20241022')).toEqual([3, 5, 20241022]);
    expect(claudeVersion('claude-sonnet-4-20250514')).toEqual([4, 0, 20250514]);
    expect(claudeVersion('claude-sonnet-4-5-20250929')).toEqual([4, 5, 20250929]);
    expect(claudeVersion('us.anthropic.claude-opus-4-1-20250805-v1:0')).toEqual([4, 1, 20250805]);
    expect(claudeVersion('anthropic.claude-3-5-sonnet-20241022-v2:0')).toEqual([3, 5, 20241022]);
    expect(claudeVersion('claude-sonnet-4-5')).toEqual([4, 5, 0]);
  });
});

describe('pickTiers', () => {
  it('picks the newest model of each family, whatever the list order', () => {
    const want = {
      haiku: 'claude-haiku-4-5-20251001',
      sonnet: 'claude-sonnet-4-5-20250929',
      opus: 'claude-opus-4-1-20250805',
    };
    expect(pickTiers(ANTHROPIC_IDS)).toEqual(want);
    expect(pickTiers([...ANTHROPIC_IDS].reverse())).toEqual(want);
  });

  it('orders 4 below 4.1 and 3.5 below 4, and a newer snapshot of the same version wins', () => {
    expect(pickTiers(['claude-sonnet-4-20250514', 'claude-3-7-sonnet-20250219']).sonnet).toBe(
      'claude-sonnet-4-20250514',
    );
    expect(pickTiers(['claude-opus-4-1-20250805', 'claude-opus-4-20250514']).opus).toBe(
      'claude-opus-4-1-20250805',
    );
    expect(pickTiers(['claude-3-5-sonnet-20240620', 'claude-3-5-sonnet-20241022']).sonnet).toBe(
      'claude-3-5-sonnet-20241022',
    );
  });

  it('handles Bedrock ids and lists without some families', () => {
    const bedrock = [
      'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      'us.anthropic.claude-sonnet-4-20250514-v1:0',
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'amazon.nova-pro-v1:0',
    ];
    expect(pickTiers(bedrock)).toEqual({
      haiku: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      sonnet: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    });
    expect(pickTiers(['gpt-4o', 'gpt-5'])).toEqual({});
  });
});

describe('Claude Code tier settings', () => {
  it('sets one variable per family found, the newest; --bedrock-compat adds the betas switch', () => {
    expect(tierSettings(ANTHROPIC_IDS)).toEqual([
      { path: ['env', 'ANTHROPIC_DEFAULT_HAIKU_MODEL'], value: 'claude-haiku-4-5-20251001' },
      { path: ['env', 'ANTHROPIC_DEFAULT_SONNET_MODEL'], value: 'claude-sonnet-4-5-20250929' },
      { path: ['env', 'ANTHROPIC_DEFAULT_OPUS_MODEL'], value: 'claude-opus-4-1-20250805' },
    ]);
    expect(bedrockSettings(['claude-sonnet-4-20250514', 'claude-sonnet-4-5-20250929'])).toEqual([
      { path: ['env', 'CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS'], value: '1' },
      { path: ['env', 'ANTHROPIC_DEFAULT_SONNET_MODEL'], value: 'claude-sonnet-4-5-20250929' },
    ]);
  });
});

describe('pickCodexModel', () => {
  it('prefers a Codex model, then a GPT / o-series one, else none', () => {
    expect(pickCodexModel(['claude-sonnet-4-5-20250929', 'gpt-5', 'gpt-5-codex'])).toBe('gpt-5-codex');
    expect(pickCodexModel(['claude-sonnet-4-5-20250929', 'o3', 'gpt-4.1'])).toBe('o3');
    expect(pickCodexModel(['claude-sonnet-4-5-20250929'])).toBeUndefined();
  });
});
