"""multilingual-e5-small through ONNX Runtime with int8 weights: the fast path for bulk offer ingestion.

The BERT encoder of the offline e5 build (``matching model build``) is exported once to ONNX
(PyTorch's TorchScript exporter), its weights quantised to int8 by ONNX Runtime's dynamic
quantisation, and the result written atomically beside the model folder with a manifest naming the
source build's checksum; a stale or altered export is rebuilt. Tokenisation (``tokenizers``), mean
pooling over the attention mask and L2 normalisation are done here, as sentence-transformers does,
with the same ``query: `` / ``passage: `` prompts.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from matching.artifacts import MANIFEST, atomic_folder, sha256_file
from matching.encoders.base import FloatMatrix, normalize_rows
from matching.encoders.sentence_transformer import EncoderUnavailable

MODEL_FILE = "model-int8.onnx"


def export_folder(model_dir: Path) -> Path:
    return model_dir.with_name(model_dir.name + "-onnx-int8")


def _source_checksum(model_dir: Path) -> str:
    return sha256_file(model_dir / "model.safetensors")


class _QuantiserAdvice(logging.Filter):
    """Drops ONNX Runtime's "consider pre-processing before quantization" advice (root logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextmanager
def _without_quantiser_advice() -> Iterator[None]:
    # a filter on that one message, not a level: other threads' records still go through
    advice = _QuantiserAdvice()
    root = logging.getLogger()
    root.addFilter(advice)
    try:
        yield
    finally:
        root.removeFilter(advice)


def build_onnx_int8(model_dir: Path, *, force: bool = False) -> Path:
    """Export and quantise the e5 build in ``model_dir`` (once); returns the export folder."""
    folder = export_folder(model_dir)
    if not (model_dir / "model.safetensors").is_file():
        raise EncoderUnavailable(f"no e5 build in {model_dir}: run `matching model build`")
    source = _source_checksum(model_dir)
    manifest_path = folder / MANIFEST
    if not force and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        onnx = folder / MODEL_FILE
        if (
            manifest.get("source_sha256") == source
            and onnx.is_file()
            and sha256_file(onnx) == manifest.get("sha256")
        ):
            return folder
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir)).eval()

    class Encoder(torch.nn.Module):  # keyword call: the positional order of forward() varies by version
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = Encoder().eval()
    with atomic_folder(folder) as staging:
        plain = staging / "model.onnx"
        ids = torch.ones((2, 8), dtype=torch.long)
        # The TorchScript exporter, deliberately: the torch.export-based one needs onnxscript. Its
        # tracer warns about shape-dependent branches of the attention mask (the axes are declared
        # dynamic, and the contract tests compare the export with the PyTorch model) and the quantiser
        # advises pre-processing on the root logger: a page of noise for someone running `make run`.
        with torch.no_grad(), warnings.catch_warnings(), _without_quantiser_advice():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx\.")
            torch.onnx.export(
                model,
                (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                str(plain),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    name: {0: "batch", 1: "tokens"}
                    for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
                },
                opset_version=17,
                dynamo=False,
            )
            quantize_dynamic(str(plain), str(staging / MODEL_FILE), weight_type=QuantType.QInt8)
        plain.unlink()
        (staging / MANIFEST).write_text(
            json.dumps({"source_sha256": source, "sha256": sha256_file(staging / MODEL_FILE)}, indent=2)
        )
    return folder


class OnnxE5Encoder:
    """e5-small on ONNX Runtime, int8 weights, inputs truncated to ``max_tokens``.

    Parameters
    ----------
    model_dir
        The e5 build written by ``matching model build``.
    max_tokens
        Truncation length (96 keeps an offer's title, labels and skills).
    threads
        ONNX Runtime intra-op threads.
    """

    def __init__(self, model_dir: Path, *, max_tokens: int = 96, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = build_onnx_int8(Path(model_dir))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.dim = 384
        self.name = f"onnx:multilingual-e5-small:int8:len{max_tokens}"

    def _encode(self, texts: Sequence[str], prompt: str, batch_size: int) -> FloatMatrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([prompt + t for t in texts])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")  # similar lengths batch together
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[r].ids) for r in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for k, r in enumerate(rows):
                n = len(encodings[r].ids)
                ids[k, :n] = encodings[r].ids
                mask[k, :n] = 1
            (hidden,) = self.session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            out[rows] = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return normalize_rows(out)

    def encode_query(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> FloatMatrix:
        return self._encode(texts, "query: ", batch_size)

    def encode_document(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> FloatMatrix:
        return self._encode(texts, "passage: ", batch_size)
