"""Motion and object detection: analysis workers, zones, detectors, event recording."""
