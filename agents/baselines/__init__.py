"""The paper's supervised comparison models (FC and conv nets) and Catch's scripted players."""
