/** The evauth MQTT broker: embedded aedes with login and the topic rights of PROTOCOL §9. */
export { GuardedConnection, MqttFrameGuard } from './frame-guard.js';
export {
  filterCovers,
  mayPublish,
  maySubscribe,
  type Principal,
  parseUsername,
  rightsOf,
  type TopicRights,
  topicMatches,
  usernames,
} from './rights.js';
export { type BrokerOptions, type RunningBroker, startBroker } from './server.js';
