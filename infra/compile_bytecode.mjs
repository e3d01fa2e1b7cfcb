// Compiles the Lambda asset's Python to bytecode for the runtime's Python, without Docker
// and whatever Python the build machine has: CPython itself, as WebAssembly (the npm
// package `pyodide`, pinned in package.json), compiles the asset folder mounted into it.
//
// Lambda loads the function from a read-only file system, where Python cannot write
// bytecode: every module that ships without a .pyc for the runtime's Python is compiled
// again on every cold start. pyc files are platform-independent but version-specific
// (magic number, `cpython-314` tag), so the compiling interpreter must be the runtime's
// minor version: this script refuses any other.
//
// After compiling, every .pyc is checked (the magic number of this interpreter, and
// `marshal` reads it back), and the modules named are imported from the compiled asset.
// Timestamps are not checked at import (unchecked-hash pycs): the asset is immutable, and
// CDK's asset staging does not keep file times.
//
//   node infra/compile_bytecode.mjs <asset-dir> <python-version, e.g. 3.14> [module ...]
//
// PYODIDE_DIR, when set, is the pyodide package to load (infra/bundling.py finds it in the
// CDK app's node_modules); otherwise Node resolves `pyodide` from this file's location.
import path from "node:path";
import { pathToFileURL } from "node:url";

const { loadPyodide } = process.env.PYODIDE_DIR
  ? await import(pathToFileURL(path.join(process.env.PYODIDE_DIR, "pyodide.mjs")).href)
  : await import("pyodide");

const [assetDir, wanted, ...modules] = process.argv.slice(2);
if (!assetDir || !wanted) {
  console.error("usage: node infra/compile_bytecode.mjs <asset-dir> <python-version> [module ...]");
  process.exit(2);
}
const python = await loadPyodide({ stdout: () => {}, stderr: (line) => console.error(line) });
python.FS.mkdirTree("/asset");
python.FS.mount(python.FS.filesystems.NODEFS, { root: path.resolve(assetDir) }, "/asset");
python.globals.set("WANTED", wanted);
python.globals.set("MODULES", modules.join(" "));
let report;
try {
  report = python.runPython(`
import compileall, importlib, importlib.util, json, marshal, pathlib, py_compile, sys

version = "%d.%d" % sys.version_info[:2]
if version != WANTED:
    raise SystemExit(f"pyodide runs Python {version}, the runtime is Python {WANTED}: "
                     "pin the pyodide of the runtime's Python in package.json")
if not compileall.compile_dir("/asset", quiet=1, workers=1,
                              invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
    raise SystemExit("compileall failed on the asset")
pycs = sorted(pathlib.Path("/asset").rglob("*.pyc"))
for pyc in pycs:
    data = pyc.read_bytes()
    if data[:4] != importlib.util.MAGIC_NUMBER:
        raise SystemExit(f"{pyc}: magic number {data[:4].hex()}, not this Python's")
    marshal.loads(data[16:])
sys.path.insert(0, "/asset")
sys.dont_write_bytecode = True
for module in MODULES.split():
    importlib.import_module(module)
json.dumps({"python": sys.version.split()[0], "magic": importlib.util.MAGIC_NUMBER.hex(),
            "tag": sys.implementation.cache_tag, "pycs": len(pycs)})
`);
} catch (error) {
  // The Python traceback's last line says what failed; not Node's dump of the wasm glue.
  const lines = String(error.message).trim().split("\n");
  console.error(`compile_bytecode: ${lines[lines.length - 1]}`);
  process.exit(1);
}
console.log(report);
