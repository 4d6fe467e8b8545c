/**
 * Model checking of the revision-2 handshake (docs/model-checking.md). SPIN explores every interleaving of the
 * vehicle, the pile and a Dolev-Yao intruder in docs/model/evauth-handshake.pml: the model must keep each
 * property, and each deliberately broken variant must lose the property it breaks (a counterexample found),
 * which shows the property can fail at all.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MODEL_DIR = join(import.meta.dirname, '../../docs/model');
/** the model; it includes the other .pml files of its folder */
const MODEL_FILE = 'evauth-handshake.pml';

type Property = 'agreement' | 'secrecy' | 'proof' | 'limits' | 'lockout' | 'charging';

/** The variable each LTL claim watches ([] !variable): it names the claim in pan's counterexample. */
const WATCHED: Record<Property, string> = {
  agreement: 'brokeAgreement',
  secrecy: 'brokeSecrecy',
  proof: 'brokeProof',
  limits: 'brokeLimits',
  lockout: 'brokeLockout',
  charging: 'vCharged',
};

interface Variant {
  /** -D flags for `spin -a`, empty for the model as PROTOCOL specifies it */
  defines: string[];
  /** Full searches pay back -O1; variants that stop at their first counterexample are mostly compile time. */
  optimise: '-O0' | '-O1';
}

const PROTOCOL_AS_SPECIFIED: Variant = { defines: [], optimise: '-O1' };
const mutant = (name: string): Variant => ({ defines: [`-D${name}`], optimise: '-O0' });
const REPAIRED: Variant = { defines: ['-DFIX_BAD_PROOF_IGNORED'], optimise: '-O1' };

interface Check {
  title: string;
  variant: Variant;
  property: Property;
  holds: boolean;
}

const CHECKS: Check[] = [
  ...(['agreement', 'secrecy', 'proof', 'limits'] as const).map((property) => ({
    title: `revision 2 keeps ${property}`,
    variant: PROTOCOL_AS_SPECIFIED,
    property,
    holds: true,
  })),
  {
    title: 'the model is not vacuous: the genuine vehicle can charge',
    variant: PROTOCOL_AS_SPECIFIED,
    property: 'charging',
    holds: false,
  },
  {
    title: 'step 2 without ticket.vid == vid loses agreement (the intruder charges on V)',
    variant: mutant('MUT_NO_VID_CHECK'),
    property: 'agreement',
    holds: false,
  },
  {
    title: 'a vehicle that takes auth.result without its mac loses agreement',
    variant: mutant('MUT_RESULT_UNCHECKED'),
    property: 'agreement',
    holds: false,
  },
  {
    title: 'SK derived without AK loses secrecy',
    variant: mutant('MUT_SK_NO_AK'),
    property: 'secrecy',
    holds: false,
  },
  {
    title: 'a pile that does not check auth.response energises without the vehicle proof',
    variant: mutant('MUT_PROOF_UNCHECKED'),
    property: 'proof',
    holds: false,
  },
  {
    title: "revision 1's unbound request lets anyone spend V's limits",
    variant: mutant('MUT_REV1'),
    property: 'limits',
    holds: false,
  },
  {
    title: 'finding: whoever knows a pending sid can lock V out with a wrong auth.response',
    variant: PROTOCOL_AS_SPECIFIED,
    property: 'lockout',
    holds: false,
  },
  {
    title: 'a pile that ignores a wrong proof (no count, handshake kept) cannot be made to lock V out',
    variant: REPAIRED,
    property: 'lockout',
    holds: true,
  },
];

interface ProcessResult {
  code: number;
  output: string;
}

function runProcess(command: string, args: string[], cwd: string): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, output: `${stdout}${stderr}` });
    });
  });
}

async function mustRun(command: string, args: string[], cwd: string): Promise<string> {
  const result = await runProcess(command, args, cwd);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.output}`);
  return result.output;
}

/** At most `slots` jobs at once: the machine has two cores, and each pan or gcc fills one. */
function jobSlots(slots: number): <T>(job: () => Promise<T>) => Promise<T> {
  let free = slots;
  const waiting: Array<() => void> = [];
  return async (job) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await job();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

describe('SPIN model of the revision-2 handshake', () => {
  let workDir = '';
  const inSlot = jobSlots(Math.max(1, Math.min(2, availableParallelism())));
  const verifiers = new Map<string, Promise<string>>();

  /** Set when spin or gcc is missing: every check then fails with it (a missing checker must not pass). */
  let missingTools = '';

  beforeAll(async () => {
    for (const [tool, args] of [
      ['spin', ['-V']],
      ['gcc', ['--version']],
    ] as const) {
      const present = await runProcess(tool, [...args], tmpdir()).then(
        (r) => r.code === 0,
        () => false,
      );
      if (!present) {
        missingTools =
          `${tool} is not installed: the model checks need SPIN and gcc (run scripts/ensure-test-deps.sh ` +
          'as root, or apt-get install spin gcc)';
        return;
      }
    }
    workDir = mkdtempSync(join(tmpdir(), 'evauth-spin-'));
  });

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** spin -a and gcc, once per variant, in a directory of its own (pan writes its trail there). */
  function verifier(variant: Variant): Promise<string> {
    const name = variant.defines.map((flag) => flag.replace(/^-D/, '')).join('_') || 'protocol';
    let built = verifiers.get(name);
    if (!built) {
      built = inSlot(async () => {
        const dir = join(workDir, name);
        mkdirSync(dir);
        for (const file of readdirSync(MODEL_DIR).filter((name) => name.endsWith('.pml'))) {
          copyFileSync(join(MODEL_DIR, file), join(dir, file));
        }
        await mustRun('spin', [...variant.defines, '-a', MODEL_FILE], dir);
        await mustRun('gcc', [variant.optimise, '-DSAFETY', '-w', '-o', 'pan', 'pan.c'], dir);
        return dir;
      });
      verifiers.set(name, built);
    }
    return built;
  }

  for (const check of CHECKS) {
    it.concurrent(check.title, async () => {
      if (missingTools) throw new Error(missingTools);
      const dir = await verifier(check.variant);
      // -m: the search's depth bound (the model needs about 110); -w20: a 1 M-slot hash table
      const { output } = await inSlot(() =>
        runProcess('./pan', ['-m10000', '-w20', '-N', check.property], dir),
      );
      expect(output, 'pan ran the claim asked for').toMatch(
        new RegExp(`never claim\\s+\\+ \\(${check.property}\\)`),
      );
      expect(output, 'the search was not cut short').not.toMatch(/max search depth too small|out of memory/i);
      const errors = Number(/errors: (\d+)/.exec(output)?.[1] ?? Number.NaN);
      if (check.holds) {
        expect(errors, output).toBe(0);
        expect(output).toContain('Full statespace search');
      } else {
        expect(errors, output).toBeGreaterThan(0);
        // the counterexample violates this claim, not one of the model's own bounds
        expect(output).toMatch(new RegExp(`assertion violated.*${WATCHED[check.property]}`));
      }
    }, 120_000);
  }
});
