/**
 * Revocation on Mosquitto without a re-export (docs/mosquitto.md): the credential service tells the dynamic-security
 * plugin of every revoked vehicle with `disableClient`, which refuses the login from then on and disconnects the
 * clients logged in with it. The export gives the cloud's role the right to publish these commands.
 */
import { usernames } from '../shared/index.js';

/** The plugin's command topic (Mosquitto 2.0). */
export const DYNSEC_COMMAND_TOPIC = '$CONTROL/dynamic-security/v1';

/** commands per message: each is under 100 bytes, so a message stays well inside every packet limit */
const COMMANDS_PER_MESSAGE = 200;

/** The command messages that disable the vehicles' logins, in batches. */
export function disableVehicleCommands(vids: readonly string[]): string[] {
  const messages: string[] = [];
  for (let i = 0; i < vids.length; i += COMMANDS_PER_MESSAGE) {
    const commands = vids
      .slice(i, i + COMMANDS_PER_MESSAGE)
      .map((vid) => ({ command: 'disableClient', username: usernames.vehicle(vid) }));
    messages.push(JSON.stringify({ commands }));
  }
  return messages;
}
