"""What the relay's producers publish: a parcel with a label and a weight."""


class Parcel:
    def __init__(self, label, weight):
        self.label = label
        self.weight = weight

    def heavier(self, extra):
        return Parcel(self.label, self.weight + extra)

    def __repr__(self):
        return f"Parcel({self.label!r}, {self.weight})"
