"""Features of one text (found through --pythonpath=$application_path/src/modules)."""


def features(text):
    words = text.split()
    return {"lines": text.count("\n"), "words": len(words),
            "longest": max((len(w) for w in words), default=0)}
