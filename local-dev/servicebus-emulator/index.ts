export { startServiceBusEmulator, MAX_MESSAGE_BYTES } from './server';
export type { ServiceBusEmulator, ServiceBusEmulatorOptions } from './server';
export { parseEmulatorConfig, readEmulatorConfigFile } from './config';
export type { EmulatorConfig, QueueSettings } from './config';
export { parsePressureSpec } from './pressure';
export type { PressureOptions } from './pressure';
