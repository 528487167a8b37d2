/** Connectors by store type: app.ts registers one per type at start. */
import type { KeyStoreConnector } from './connector.js';
import type { CustomKeyStoreType } from './types.js';
import { kmsError } from '../errors/aws-errors.js';

export class ConnectorRegistry {
  private readonly byType = new Map<CustomKeyStoreType, KeyStoreConnector>();

  register(connector: KeyStoreConnector): void {
    this.byType.set(connector.type, connector);
  }

  get(type: CustomKeyStoreType): KeyStoreConnector | undefined {
    return this.byType.get(type);
  }

  /** The connector for a type, or UnsupportedOperationException when none is registered. */
  require(type: CustomKeyStoreType): KeyStoreConnector {
    const c = this.byType.get(type);
    if (c === undefined)
      throw kmsError(
        'UnsupportedOperationException',
        `Custom key stores of type ${type} are not supported by this keyhold node.`,
      );
    return c;
  }
}
