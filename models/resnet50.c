/* models/resnet50.c: being written */
