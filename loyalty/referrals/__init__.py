"""Old owner brings new (老带新): leads, their stages, rewards paid exactly once."""
