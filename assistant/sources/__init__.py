"""What a corpus declares about its documents: who says it, from which side and voice.

model.Source: one document's declared fields (one list for manifest, forms, store and API)
model.VOICES: the fixed vocabulary of voices
manifest.Corpus: a corpus's sides, outlets, markers and entries (sources.toml), validated
manifest.load_manifest: read and validate a sources.toml; errors name the entry and the fix
suggest.Suggester: suggested sides for unlabelled documents (markers, or an LLM's checked proposal)
labelling.write_labels: accepted labels written back into sources.toml
"""
