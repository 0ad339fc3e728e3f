// The builder's ONNX attributes carry the type the caller states (AttributeProto.type),
// whatever the attribute is called and whatever its value looks like.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { Graph, attr, intAttribute } from '../../../../src/engine/graph/builder.js';
import { GraphError } from '../../../../src/engine/errors.js';

const T = onnxProto.onnx.AttributeProto.AttributeType;

describe('graph builder: typed attributes', () => {
  it('serializes each attribute with its stated type, not one guessed from its name or value', () => {
    const g = new Graph('float32');
    const x = g.input('x', [2, 3]);
    const y = g.node('Custom', [x], {
      epsilon: attr.int(3), // an INT called epsilon stays INT
      alpha: attr.float(2), // an integral FLOAT stays FLOAT
      perm: attr.ints([1, 0]),
      scales: attr.floats([0.5, 1]),
      mode: attr.string('constant'),
    }, 1, [x.shape], ['float32'], undefined, 'example.domain')[0]!;
    g.output('y', g.layerNorm(y, g.input('w', [3]), g.input('b', [3]), 1)); // epsilon 1 must still be a FLOAT
    const nodes = g.toModelProto().graph!.node!;
    const types = (i: number): Record<string, number> => Object.fromEntries(nodes[i]!.attribute!.map((a) => [a.name!, a.type!]));
    assert.deepEqual(types(0), { epsilon: T.INT, alpha: T.FLOAT, perm: T.INTS, scales: T.FLOATS, mode: T.STRING });
    assert.deepEqual(types(1), { axis: T.INT, epsilon: T.FLOAT, stash_type: T.INT });
    assert.equal(nodes[0]!.attribute![1]!.f, 2);
  });

  it('rejects a non-integer INT attribute and reports a missing or mistyped one by node and name', () => {
    assert.throws(() => attr.int(1.5), (e: unknown) => e instanceof GraphError && /INT attribute needs integers, got 1.5/.test(e.message));
    assert.throws(() => attr.ints([1, Number.NaN]), GraphError);
    const g = new Graph('float32');
    g.softmax(g.input('x', [2, 3]), -1);
    const softmax = g.nodes[0]!;
    assert.equal(intAttribute(softmax, 'axis'), 1);
    assert.throws(() => intAttribute(softmax, 'keepdims'), (e: unknown) => e instanceof GraphError && /Softmax .*'keepdims'/.test(e.message));
  });
});
