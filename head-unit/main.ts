/** Entry of the head-unit app: registers <head-unit-app> (the vehicle client loads lazily from it). */
import './ui/head-unit-app.js';
