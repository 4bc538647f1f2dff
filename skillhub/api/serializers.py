"""Serializer conventions shared by every API: unknown fields are refused, never ignored."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses non-object bodies and unknown fields, so a typo never silently does nothing."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) and not hasattr(data, "getlist"):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object"]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field"] for name in unknown})
        return super().to_internal_value(data)
