"""The objects the sensors of streams_app publish."""


class Reading:
    def __init__(self, sensor, index, value):
        self.sensor = sensor
        self.index = index
        self.value = value

    def __repr__(self):
        return f"Reading({self.sensor}, {self.index}, {self.value})"
