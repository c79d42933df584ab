"""The plan contract: the plan's fields (names, units, valid ranges) and the user-error base class.

One home for what conductor, synthesizer and measurement must agree on (ARCHITECTURE.md, Contract 1), so that
``baton``, ``tts_model`` and ``feature_extract`` import it instead of keeping copies. Standard library only,
no numpy, no project imports: every package may depend on it, and it depends on none
(docs/design/interfaces.md).

* :mod:`plan_contract.fields` — :data:`NUMERIC_FIELDS` (name -> :class:`FieldSpec`), :data:`CONTROL_NAMES`,
  :data:`PITCH_RANGE`, :data:`VOICE_QUALITIES`, the field-name tuples, :data:`PLAN_VERSION`.
* :mod:`plan_contract.errors` — :class:`UserError` (what front ends show as one line) and :class:`PlanError`.
"""

from plan_contract.errors import PlanError, UserError
from plan_contract.fields import (ALL_FIELDS, BATONVOICE_FIELDS, CONTROL_NAMES, LIST_FIELDS, NUMERIC_FIELDS,
                                  OPTIONAL_FIELDS, PITCH_RANGE, PLAN_VERSION, RENDER_FIELDS, REQUIRED_FIELDS,
                                  VOICE_QUALITIES, WORD_FIELD, FieldSpec, JsonConstant)

__all__ = ["UserError", "PlanError", "FieldSpec", "JsonConstant", "PLAN_VERSION", "WORD_FIELD", "NUMERIC_FIELDS",
           "CONTROL_NAMES", "PITCH_RANGE", "VOICE_QUALITIES", "RENDER_FIELDS", "LIST_FIELDS", "REQUIRED_FIELDS",
           "ALL_FIELDS", "OPTIONAL_FIELDS", "BATONVOICE_FIELDS"]
