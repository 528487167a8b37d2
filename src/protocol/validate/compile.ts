/** compile(name): the parser of a shape, built once per shape and kept (recursive shapes too). */
import type { ModelShape } from '../model/kms-model.js';
import { buildList, buildMap, buildStructure } from './containers.js';
import { shapeOf, type Node } from './node.js';
import { buildBlob, buildBoolean, buildNumber, buildString, buildTimestamp } from './scalars.js';

const nodes = new Map<string, Node>();

export function compile(name: string): Node {
  const existing = nodes.get(name);
  if (existing !== undefined) return existing;
  const shape = shapeOf(name);
  // Register a forwarding node first so recursive shapes terminate.
  const forward: Node = {
    parse: (v, p, s) => target.parse(v, p, s),
    identity: false,
  };
  nodes.set(name, forward);
  const target = build(name, shape);
  nodes.set(name, target);
  Object.assign(forward, target);
  return target;
}

function build(name: string, shape: ModelShape): Node {
  switch (shape.type) {
    case 'structure':
      return buildStructure(shape, compile);
    case 'list':
      return buildList(shape, compile);
    case 'map':
      return buildMap(shape, compile);
    case 'string':
      return buildString(name, shape);
    case 'blob':
      return buildBlob(shape);
    case 'boolean':
      return buildBoolean(shape);
    case 'integer':
    case 'long':
    case 'float':
    case 'double':
      return buildNumber(shape);
    case 'timestamp':
      return buildTimestamp(shape);
  }
}
