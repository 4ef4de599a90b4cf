print("heapctl")
