"""Two-person review (双人复核) for change jobs: request, preview, signed approval, execute."""
