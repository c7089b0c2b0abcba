"""The app's screens: one per mode (train, gradcheck, evaluate, inspect, predict) + help."""
