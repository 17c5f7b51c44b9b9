'use strict';
// Minimal .npy (format version 1.0) reader/writer.
//
// Writes little-endian '<f4' (float32) and '<i4' (int32) arrays in C order, with
// the header padded by spaces and terminated by '\n' so that the data starts at
// a multiple of 64 bytes, as numpy.lib.format does.
// Reads v1.0/v2.0/v3.0 files with '<f4', '<f8', '<i4', '<i8', '|u1', '|i1',
// '|b1', '<u2', '<i2' descriptors (C order only).

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

const DESCR = {
  float32: '<f4',
  int32: '<i4',
};

const READ_TYPES = {
  '<f4': {ctor: Float32Array, dtype: 'float32'},
  '<f8': {ctor: Float64Array, dtype: 'float64'},
  '<i4': {ctor: Int32Array, dtype: 'int32'},
  '<i8': {ctor: BigInt64Array, dtype: 'int64'},
  '<i2': {ctor: Int16Array, dtype: 'int16'},
  '<u2': {ctor: Uint16Array, dtype: 'uint16'},
  '|u1': {ctor: Uint8Array, dtype: 'uint8'},
  '|i1': {ctor: Int8Array, dtype: 'int8'},
  '|b1': {ctor: Uint8Array, dtype: 'bool'},
};

function shapeRepr(shape) {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function sizeOf(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Encodes an array as .npy bytes.
 * @param {Float32Array|Int32Array|number[]} data values in C order
 * @param {number[]} shape
 * @param {'float32'|'int32'} dtype (inferred from a typed array when omitted)
 * @returns {Buffer}
 */
function encodeNpy(data, shape, dtype) {
  if (dtype == null) {
    if (data instanceof Int32Array) dtype = 'int32';
    else dtype = 'float32';
  }
  const descr = DESCR[dtype];
  if (descr == null) throw new Error(`npy: unsupported dtype ${dtype}`);
  shape = Array.from(shape, (d) => {
    if (!Number.isInteger(d) || d < 0) throw new Error(`npy: bad shape ${shape}`);
    return d;
  });
  const n = sizeOf(shape);
  if (data.length !== n) {
    throw new Error(`npy: ${data.length} values do not fit shape [${shape}]`);
  }
  const typed = dtype === 'float32' ? Float32Array.from(data) : Int32Array.from(data);

  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  // magic(6) + version(2) + header_len(2) + header + '\n' must be a multiple of 64.
  const preamble = MAGIC.length + 2 + 2;
  const total = preamble + header.length + 1;
  const pad = (64 - (total % 64)) % 64;
  header = header + ' '.repeat(pad) + '\n';
  if (header.length > 65535) throw new Error('npy: header too long for v1.0');

  const head = Buffer.alloc(preamble);
  MAGIC.copy(head, 0);
  head[6] = 1; // major
  head[7] = 0; // minor
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    if (dtype === 'float32') body.writeFloatLE(typed[i], i * 4);
    else body.writeInt32LE(typed[i], i * 4);
  }
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

function writeNpy(path, data, shape, dtype) {
  fs.writeFileSync(path, encodeNpy(data, shape, dtype));
}

function parseHeaderDict(text) {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`npy: cannot parse header ${text}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0)
      .map((s) => {
        const v = Number(s.replace(/L$/, ''));
        if (!Number.isInteger(v) || v < 0) throw new Error(`npy: bad shape ${shape[1]}`);
        return v;
      });
  return {descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims};
}

/**
 * Decodes .npy bytes.
 * @returns {{dtype: string, shape: number[], data: TypedArray}}
 */
function decodeNpy(buf) {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error('npy: bad magic');
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new Error(`npy: unsupported version ${major}.${buf[7]}`);
  }
  const header = buf.subarray(offset, offset + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const {descr, fortranOrder, shape} = parseHeaderDict(header);
  if (fortranOrder) throw new Error('npy: fortran_order arrays are not supported');
  const type = READ_TYPES[descr.replace(/^=/, '<')];
  if (type == null) throw new Error(`npy: unsupported descr ${descr}`);
  const n = sizeOf(shape);
  const start = offset + headerLen;
  const nbytes = n * type.ctor.BYTES_PER_ELEMENT;
  if (buf.length - start < nbytes) throw new Error('npy: file is truncated');
  // Copy into a fresh, aligned buffer (host is little-endian on all supported platforms).
  const copy = new Uint8Array(nbytes);
  copy.set(buf.subarray(start, start + nbytes));
  const data = new type.ctor(copy.buffer);
  return {dtype: type.dtype, shape, data};
}

function readNpy(path) {
  return decodeNpy(fs.readFileSync(path));
}

module.exports = {encodeNpy, decodeNpy, writeNpy, readNpy};
