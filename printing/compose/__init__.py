"""Turn each document's data into a :class:`printing.layout.Layout`: the wording of the paper lives here."""
