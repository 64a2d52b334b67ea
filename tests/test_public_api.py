import assistant


def test_public_names_are_pinned() -> None:
    assert sorted(assistant.__all__) == [
        "Answer",
        "Assistant",
        "AssistantError",
        "BadDocument",
        "Citation",
        "ConfigError",
        "EmbedderMismatch",
        "IndexNotBuilt",
        "IngestReport",
        "InvalidRequest",
        "LLMError",
        "ManifestError",
        "Passage",
        "PromptError",
        "Settings",
        "SideSummary",
        "Source",
        "SourceNotFound",
        "StoreUnavailable",
        "VOICES",
    ]
    for name in assistant.__all__:
        assert getattr(assistant, name) is not None
