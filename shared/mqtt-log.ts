/**
 * mqtt.js logs every packet through the `debug` package, whose calls allocate their argument arrays even when
 * disabled: on a gateway at 1,000 sessions/s that was a fifth of all its allocation, and the young-generation
 * collections it caused showed up in the handshake's p99. Clients pass `log: mqttClientLog(...)`: silent unless
 * mqtt.js's debug output was asked for (`DEBUG=mqttjs*`), in which case mqtt.js keeps its own logger.
 */
const silent = (): void => {};

export function mqttClientLog(debugSetting: string | undefined): ((...args: unknown[]) => void) | undefined {
  return debugSetting?.includes('mqttjs') ? undefined : silent;
}
