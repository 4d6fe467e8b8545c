/** Holds the vehicle port of the page and re-renders its host whenever the port reports a change. */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { VehiclePort } from './vehicle-port.js';

export class VehicleController implements ReactiveController {
  port?: VehiclePort;
  private unsubscribe?: () => void;
  private connected = false;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  /** Replaces the port (a new vehicle was paired); closes the old one. */
  async use(port: VehiclePort | undefined): Promise<void> {
    const old = this.port;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.port = port;
    if (port && this.connected) this.unsubscribe = port.onChange(() => this.host.requestUpdate());
    this.host.requestUpdate();
    if (old && old !== port) await old.close();
  }

  hostConnected(): void {
    this.connected = true;
    if (this.port) this.unsubscribe = this.port.onChange(() => this.host.requestUpdate());
  }

  hostDisconnected(): void {
    this.connected = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
