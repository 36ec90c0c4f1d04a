"""Published figures are labelled by their publisher, as field readers know them."""

import json

from barometre_pipeline.publish.dashboard import render_dashboard


def test_public_rows_are_labelled_by_publisher_not_by_source_id(indicators_frame, catalogue):
    frame = indicators_frame.copy()
    public = frame["source_family"] != "pilot"
    assert public.any()
    frame.loc[public, "provenance"] = json.dumps({"publisher": "Éditeur Public Exemplaire"})
    page = render_dashboard(frame, catalogue=catalogue)
    ids = set(frame.loc[public, "source_id"])
    assert "Éditeur Public Exemplaire" in page
    comparison = page.split("Chiffres publiés")[1] if "Chiffres publiés" in page else page
    assert not any(f">{source_id}<" in comparison.split("Sources")[0] for source_id in ids)
