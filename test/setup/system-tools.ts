/**
 * vitest global setup: the same check as `npm test`'s pre-flight (scripts/test-preflight.ts), without installing,
 * so `npx vitest run <file>` also stops at once naming each missing system tool and its install command instead
 * of failing later with `spawn ffmpeg ENOENT`.
 */
import { missingTools, planInstall, testTools, thisMachine } from '../../scripts/stack/system-tools.js';

export default function checkSystemTools(): void {
  const missing = missingTools(testTools(process.env), process.env);
  if (missing.length === 0) return;
  const plan = planInstall(missing, { ...thisMachine(process.env), sudoWithoutPassword: () => false });
  throw new Error(
    `The tests need system tools that are missing: ${missing.map((t) => `${t.name} (${t.neededFor})`).join(', ')}. ` +
      `Install them with: ${plan.manual} (npm test does this itself when it can).`,
  );
}
