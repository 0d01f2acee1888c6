return { name = 'shapes' }
