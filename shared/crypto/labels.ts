/** Every domain-separation label of PROTOCOL §2-§8, exactly as specified. */
export const LABEL = {
  ticketKey: 'evauth/v1/ticket-key',
  authKey: 'evauth/v1/auth-key',
  controlKey: 'evauth/v1/control-key',
  sealKey: 'evauth/v1/seal-key',
  vehicleMacKey: 'evauth/v1/vehicle-mac-key',
  sessionKey: 'evauth/v1/session-key',
  request: 'evauth/v1/request',
  abort: 'evauth/v1/abort',
  pileProof: 'evauth/v1/pile-proof',
  vehicleProof: 'evauth/v1/vehicle-proof',
  offer: 'evauth/v1/offer',
  result: 'evauth/v1/result',
  error: 'evauth/v1/error',
  meter: 'evauth/v1/meter',
  stop: 'evauth/v1/stop',
  receipt: 'evauth/v1/receipt',
  control: 'evauth/v1/control',
  credentialRequest: 'evauth/v1/credential-request',
} as const;

export type Label = (typeof LABEL)[keyof typeof LABEL];
