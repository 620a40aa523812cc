// Run a TF.js graph model with TensorFlow.js itself (CPU backend) on a raw float32 input and
// write every output as raw float32 plus a JSON index. An independent reference for
// vidinpaint/tfjs.py. Usage (see scripts/make_tfjs_fixture.py, which drives it):
//   node tfjs_reference.mjs MODEL_JSON INPUT_F32 SHAPE_JSON OUT_DIR [DTYPE]
// DTYPE: the input's dtype in the graph (float32, or int32: the float values cast, as MoveNet takes)
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [modelJson, inputPath, shapeJson, outDir, dtype = 'float32'] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
const folder = path.dirname(modelJson);
const weightSpecs = spec.weightsManifest.flatMap((g) => g.weights);
const buffers = spec.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(folder, p))));
const all = Buffer.concat(buffers);
const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
await tf.setBackend('cpu');
const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: spec.modelTopology, weightSpecs, weightData }));
const raw = fs.readFileSync(inputPath);
const input = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), JSON.parse(shapeJson), dtype);
const names = model.outputs.map((o) => o.name);
const outputs = model.execute(input, names);
fs.mkdirSync(outDir, { recursive: true });
const index = {};
(Array.isArray(outputs) ? outputs : [outputs]).forEach((t, i) => {
  const file = `out${i}.f32`;
  fs.writeFileSync(path.join(outDir, file), Buffer.from(t.dataSync().buffer));
  index[names[i].split(':')[0]] = { file, shape: t.shape };
});
fs.writeFileSync(path.join(outDir, 'index.json'), JSON.stringify({ tfjs: tf.version.tfjs, outputs: index }));
